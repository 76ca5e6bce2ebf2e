# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# win_vss_backup, step "preflight": read-only inventory of everything the controller needs to plan a
# backup, in one call. It decides nothing: admin rights, tools, Hyper-V, VMs, volumes, writer states,
# destination, our lock/job state, shadow copies and our job folders are reported as found.
[CmdletBinding(SupportsShouldProcess)]
param(
    [string]$Destination = '',
    [bool]$WantVms = $true,
    # a restic repository job: where restic.exe should be (its `restic version` output is reported)
    [string]$ResticPath = ''
)
#vaware:include vss_common

$ErrorActionPreference = 'Stop'
$WhatIfPreference = $false
$paths = Get-VawarePaths

$identity = [Security.Principal.WindowsIdentity]::GetCurrent()
$principal = New-Object Security.Principal.WindowsPrincipal($identity)
$result = [ordered]@{
    computer_name = $env:COMPUTERNAME
    program_data = $env:ProgramData
    is_admin = $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)
    user = $identity.Name
    now = [DateTime]::UtcNow.ToString('o')
    tools = [ordered]@{}
    hyperv = [ordered]@{ module = $false; cim = $false; error = $null }
    vms = @()
    volumes = @()
    mount_points = @()
    writers_text = $null
    writers_error = $null
    destination = [ordered]@{}
    lock = $null
    lock_written_at = $null
    jobs = @()
    shadows = @()
}

foreach ($tool in 'diskshadow.exe', 'robocopy.exe', 'vssadmin.exe') {
    $found = Get-Command -Name $tool -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    $result.tools[$tool] = if ($found) { $found.Source } else { $null }
}

# --- Hyper-V: the VM inventory with every file a backup has to copy -------------------------------
$result.hyperv.module = [bool](Get-Module -ListAvailable -Name Hyper-V)
try {
    $null = Get-CimInstance -Namespace 'root\virtualization\v2' -ClassName Msvm_VirtualSystemManagementService -ErrorAction Stop
    $result.hyperv.cim = $true
} catch {
    $result.hyperv.error = $_.Exception.Message
}
function Get-FileEntries {
    # Files directly named by a pattern in a folder, plus everything below a same-named folder
    # (a VM's or checkpoint's runtime state), as @{ path; size }.
    param([string]$Folder, [string]$Id)
    $entries = @()
    if (-not $Folder -or -not (Test-Path -LiteralPath $Folder -PathType Container)) { return $entries }
    foreach ($f in @(Get-ChildItem -LiteralPath $Folder -Force -File | Where-Object { $_.BaseName -eq $Id })) {
        $entries += [ordered]@{ path = $f.FullName; size = $f.Length }
    }
    $sub = Join-Path $Folder $Id
    if (Test-Path -LiteralPath $sub -PathType Container) {
        foreach ($f in @(Get-ChildItem -LiteralPath $sub -Recurse -Force -File)) {
            $entries += [ordered]@{ path = $f.FullName; size = $f.Length }
        }
    }
    return $entries
}

if ($WantVms -and $result.hyperv.module) {
    $vmList = @()
    foreach ($vm in @(Get-VM)) {
        $vmId = $vm.VMId.ToString()
        $config = @(Get-FileEntries -Folder (Join-Path $vm.ConfigurationLocation 'Virtual Machines') -Id $vmId)
        $checkpoints = @()
        $inventoryErrors = @()
        $skippedDisks = @()
        $snapshots = @()
        try {
            $snapshots = @(Get-VMSnapshot -VM $vm -ErrorAction Stop)
        } catch {
            $inventoryErrors += ('Get-VMSnapshot failed: ' + $_.Exception.Message)
        }
        # Every checkpoint of every branch: its files, and its disks as starting points of a chain.
        $starts = @(Get-VMHardDiskDrive -VM $vm)
        foreach ($cp in $snapshots) {
            $checkpoints += @(Get-FileEntries -Folder (Join-Path $vm.SnapshotFileLocation 'Snapshots') -Id $cp.Id.ToString())
            $starts += @($cp.HardDrives)
        }
        $disks = @()
        $seen = @{}
        foreach ($drive in $starts) {
            $path = [string]$drive.Path
            if (-not $path -or $null -ne $drive.DiskNumber) {
                # A pass-through disk is a physical disk of the host, not a file: VSS cannot copy it.
                $where = [string]$drive.ControllerType + ' ' + [string]$drive.ControllerNumber + ':' + [string]$drive.ControllerLocation
                $skippedDisks += [ordered]@{ disk = $where; disk_number = $drive.DiskNumber; reason = 'pass-through' }
                continue
            }
            # Follow the differencing chain (checkpoints) down to the base disk.
            while ($path -and -not $seen.ContainsKey($path.ToLowerInvariant())) {
                $seen[$path.ToLowerInvariant()] = $true
                if ($path -match '^\\\\[^\\?.]') {
                    # On an SMB share (not \\?\ or \\.\): no shadow copy here holds it, its chain is not
                    # read (the share may not be readable from this session); the controller skips it.
                    $disks += [ordered]@{ path = $path; size = $null }
                    break
                }
                $item = Get-Item -LiteralPath $path -Force -ErrorAction SilentlyContinue
                $disks += [ordered]@{ path = $path; size = if ($item) { $item.Length } else { $null } }
                $parent = $null
                try {
                    $parent = (Get-VHD -Path $path -ErrorAction Stop).ParentPath
                } catch {
                    $inventoryErrors += ('Get-VHD ' + $path + ' failed: ' + $_.Exception.Message)
                }
                $path = [string]$parent
            }
        }
        $vmList += [ordered]@{
            name = $vm.Name
            id = $vmId
            state = $vm.State.ToString()
            config_paths = $config
            checkpoint_paths = $checkpoints
            vhd_paths = $disks
            skipped_disks = $skippedDisks
            inventory_errors = $inventoryErrors
        }
    }
    $result.vms = $vmList
}

# --- Volumes and mount points, raw, in the shape of win_volume_guid_facts (normalised on the controller) ---
$volumeProperties = @(
    'DeviceID', 'Name', 'DriveLetter', 'Label', 'FileSystem', 'Capacity', 'FreeSpace', 'BlockSize',
    'DriveType', 'SerialNumber', 'SystemVolume', 'BootVolume', 'PageFilePresent'
)
$result.volumes = @(Get-CimInstance -ClassName Win32_Volume | Select-Object -Property $volumeProperties)
$result.mount_points = @(Get-CimInstance -ClassName Win32_MountPoint | ForEach-Object -Process {
        [PSCustomObject]@{
            Directory = $_.Directory.Name
            Volume = $_.Volume.DeviceID
        }
    })

# --- VSS writers (raw text; parsed by the controller) -----------------------------------------------
$vssadmin = $result.tools['vssadmin.exe']
if ($vssadmin) {
    try {
        $tool = Invoke-Tool -FilePath $vssadmin -Arguments @('list', 'writers')
        $result.writers_text = $tool.output
        $result.writers_exit = $tool.exit_code
    } catch {
        $result.writers_error = $_.Exception.Message
    }
}

# --- restic, when the job backs up to a restic repository ----------------------------------------------
if ($ResticPath) {
    $result.restic = [ordered]@{ path = $ResticPath; exists = $false; version = $null; error = $null }
    if (Test-Path -LiteralPath $ResticPath -PathType Leaf) {
        $result.restic.exists = $true
        try {
            $tool = Invoke-Tool -FilePath $ResticPath -Arguments @('version')
            $result.restic.version = $tool.output
        } catch {
            $result.restic.error = $_.Exception.Message
        }
    }
}

# --- Destination, as seen from this session ---------------------------------------------------------
$dest = [ordered]@{
    path = $Destination
    reachable = $false
    error = $null
    free_bytes = $null
    generations = @()
}
try {
    if (-not $Destination) {
        throw "no destination given"
    }
    # A destination that does not exist yet is created by the job; its nearest existing parent tells
    # whether the volume or share is there and how much space it has.
    $probe = $Destination
    while ($probe -and -not (Test-Path -LiteralPath $probe -PathType Container)) {
        $parent = Split-Path -Parent $probe
        if ($parent -eq $probe) { $parent = '' }
        $probe = $parent
    }
    if (-not $probe) {
        throw "neither the folder nor any parent of it exists or can be read"
    }
    $dest.exists = ($probe -eq $Destination)
    $dest.existing_parent = $probe
    $dest.reachable = $true
    try {
        $space = Get-DiskSpace -Path $probe
        $dest.free_bytes = $space.free_bytes
        $dest.total_bytes = $space.total_bytes
    } catch {
        $null = $_  # reachable, but Windows cannot tell its free space: left unknown (null)
    }
    # Generations of this host live in <destination>\<computer name>\<generation>.
    # (Only to name the new generation and for check mode: retention decides from the job's own list.)
    $dest.generations = Get-GenerationList -HostFolder (Join-Path $Destination $env:COMPUTERNAME)
} catch {
    $dest.error = $_.Exception.Message
}
$result.destination = $dest

# --- Our lock, our job folders and their state ------------------------------------------------------
$result.lock = Read-JsonFile -Path $paths.lock_path
# When the lock was taken, by the host's clock (compared with $result.now: a young lock is a start in progress)
$lockItem = Get-Item -LiteralPath $paths.lock_path -Force -ErrorAction SilentlyContinue
if ($lockItem) { $result.lock_written_at = $lockItem.LastWriteTimeUtc.ToString('o') }
if (Test-Path -LiteralPath $paths.jobs_root -PathType Container) {
    $jobs = @()
    foreach ($dir in @(Get-ChildItem -LiteralPath $paths.jobs_root -Directory)) {
        $status = Read-JsonFile -Path (Join-Path $dir.FullName 'status.json')
        $task = Get-ScheduledTask -TaskPath $paths.task_path -TaskName ('backup-' + $dir.Name) -ErrorAction SilentlyContinue
        $mountRoot = Join-Path $dir.FullName 'mnt'
        $mounts = @()
        if (Test-Path -LiteralPath $mountRoot -PathType Container) {
            foreach ($m in @(Get-ChildItem -LiteralPath $mountRoot -Force -Directory)) {
                $mounts += [ordered]@{
                    path = $m.FullName
                    reparse_point = [bool]($m.Attributes -band [IO.FileAttributes]::ReparsePoint)
                }
            }
        }
        $alive = Test-RunnerAlive -Status $status
        $taskState = if ($task) { $task.State.ToString() } else { $null }
        # A job that died before its end may have left shadows: its transcript names them. Only read
        # for jobs that are not running (diskshadow of a running job still writes it).
        $transcript = $null
        $transcriptPath = Join-Path $dir.FullName 'diskshadow.log'
        $running = $alive -or $taskState -eq 'Running' -or $taskState -eq 'Queued'
        if (-not $running -and (-not $status -or $status.phase -ne 'done') -and (Test-Path -LiteralPath $transcriptPath -PathType Leaf)) {
            try {
                $stream = [IO.File]::Open($transcriptPath, [IO.FileMode]::Open, [IO.FileAccess]::Read, [IO.FileShare]::ReadWrite)
                try {
                    $reader = New-Object IO.StreamReader($stream)
                    $buffer = New-Object char[] 262144
                    $count = $reader.ReadBlock($buffer, 0, $buffer.Length)
                    $transcript = [string]::new($buffer, 0, $count)
                } finally {
                    $stream.Dispose()
                }
            } catch {
                $transcript = $null
            }
        }
        $jobs += [ordered]@{
            job_id = $dir.Name
            transcript = $transcript
            path = $dir.FullName
            status = $status
            task_state = $taskState
            runner_alive = $alive
            mount_folders = $mounts
        }
    }
    $result.jobs = $jobs
}

# --- Every shadow copy on the host (the controller picks out ours by id / mount folder) --------------
$result.shadows = @(Get-ShadowCopyList)

$Ansible.Changed = $false
$Ansible.Result = $result | ConvertTo-Json -Depth 20 -Compress
