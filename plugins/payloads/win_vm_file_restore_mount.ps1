# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# win_vm_file_restore: mount backed-up virtual disks READ-ONLY without drive letters, do one thing, and
# dismount them again in a finally block, whatever happened in between.
#
#   Volumes  the partitions and volumes of each disk in -Disks (file system, label, size, whether the volume
#            holds a Windows installation, what the host's BitLocker says about it)
#   List     for each entry of -Items (@{ path = 'relative to the volume root'; children = $bool }) on
#            partition -PartitionNumber of the one disk in -Disks: exists, folder or file, size, modified
#            (UTC) and, with children, the entries of the folder
#   Copy     for each entry of -Items (@{ source = 'relative to the volume root'; type = 'file'|'folder';
#            destination = 'full path on this host' }) a robocopy with backup semantics (/B); stops at
#            exit code 8 or more; junctions and symbolic links inside a folder are not followed (/XJ)
#
# Before mounting, a sweep dismounts what an earlier run of this payload left mounted (its process died):
# every mount is recorded first in %ProgramData%\vaware.hyperv\file-restore\<RunId>-<n>.mount.json with the
# disk's path and the recording process, and the record is removed once the disk is dismounted.
# Check mode (-WhatIf) runs Volumes and List (read-only mounts) and refuses Copy.
# The result always carries what was mounted and whether it was dismounted; failures are in "error".
[CmdletBinding(SupportsShouldProcess)]
param(
    [Parameter(Mandatory)][ValidateSet('Volumes', 'List', 'Copy')][string]$Action,
    [Parameter(Mandatory)][string[]]$Disks,
    [Parameter(Mandatory)][string]$RunId,
    [int]$PartitionNumber = 0,
    [object[]]$Items = @(),
    [int]$Retry = 1,
    [int]$Wait = 1,
    [int]$VolumeWaitSeconds = 10
)
#vaware:include vss_common
#vaware:include file_restore

$ErrorActionPreference = 'Stop'
$checkMode = [bool]$WhatIfPreference
$WhatIfPreference = $false
if ($RunId -notmatch '^[0-9a-f]{8,32}$') { throw "invalid run id '$RunId'" }
if ($checkMode -and $Action -eq 'Copy') { throw 'Copy writes to the target folder and is not run in check mode' }

$result = [ordered]@{ action = $Action; swept = @(); mounts = @(); disks = @(); items = @(); copied = @(); error = $null }
$paths = Get-FileRestorePaths
Initialize-VawareRoot -Root $paths.root
$markerDir = $paths.marker_dir
$null = New-Item -ItemType Directory -Path $markerDir -Force

# ---- sweep: disks a run cut off earlier left mounted
$result.swept = Invoke-MountSweep -MarkerDir $markerDir

$self = Get-Process -Id $PID
$started = [long]$self.StartTime.ToUniversalTime().Ticks

function Get-VolumeFacts {
    param([int]$DiskNumber)
    $encryptable = @()
    try {
        $encryptable = @(Get-CimInstance -Namespace 'root/cimv2/Security/MicrosoftVolumeEncryption' -ClassName Win32_EncryptableVolume -ErrorAction Stop)
    } catch {
        $encryptable = @()  # BitLocker is not installed on this host: it cannot say
    }
    $disk = Get-Disk -Number $DiskNumber
    $facts = [ordered]@{
        disk_number = $DiskNumber
        offline = [bool]$disk.IsOffline
        offline_reason = [string]$disk.OfflineReason
        partition_style = [string]$disk.PartitionStyle
        partitions = @()
    }
    $deadline = (Get-Date).AddSeconds($VolumeWaitSeconds)
    do {
        $partitions = @(Get-Partition -DiskNumber $DiskNumber -ErrorAction SilentlyContinue)
        $volumes = @(foreach ($partition in $partitions) { Get-Volume -Partition $partition -ErrorAction SilentlyContinue })
        if ($facts.offline -or $partitions.Count -eq 0 -or $volumes.Count -gt 0) { break }
        Start-Sleep -Milliseconds 500  # volumes arrive shortly after the disk
    } while ((Get-Date) -lt $deadline)
    foreach ($partition in $partitions) {
        $volume = Get-Volume -Partition $partition -ErrorAction SilentlyContinue | Select-Object -First 1
        $part = [ordered]@{
            partition_number = [int]$partition.PartitionNumber
            type = [string]$partition.Type
            gpt_type = [string]$partition.GptType
            size = [long]$partition.Size
            volume_path = $null
            file_system = $null
            label = $null
            windows = $false
            bitlocker = $null
        }
        if ($volume) {
            $part.volume_path = [string]$volume.Path
            $part.file_system = [string]$volume.FileSystem
            $part.label = [string]$volume.FileSystemLabel
            $bl = $encryptable | Where-Object { [string]$_.DeviceID -eq $part.volume_path } | Select-Object -First 1
            if ($bl) { $part.bitlocker = [ordered]@{ protection_status = [int]$bl.ProtectionStatus; lock_status = $null } }
            if ($part.volume_path -and $part.file_system -in @('NTFS', 'ReFS')) {
                try {
                    $part.windows = [IO.File]::Exists([IO.Path]::Combine($part.volume_path, 'Windows\System32\config\SYSTEM'))
                } catch {
                    $part.windows = $false
                }
            }
        }
        $facts.partitions += , $part
    }
    return $facts
}

function Get-LinkOnPath {
    # The first folder on the way to $Relative below $Root that is a junction or symbolic link, or $null. Its target
    # would be resolved on this host (C:\Users of a guest junction is the host's C:\Users), so it is never followed.
    # Files are not asked: a file's reparse point is usually compression or deduplication, which reads fine.
    param([string]$Root, [string]$Relative)
    $path = $Root
    foreach ($part in @($Relative -split '\\' | Where-Object { $_ })) {
        $path = [IO.Path]::Combine($path, $part)
        $info = New-Object IO.DirectoryInfo($path)
        if ($info.Exists -and ($info.Attributes -band [IO.FileAttributes]::ReparsePoint)) { return $path.Substring($Root.Length) }
    }
    return $null
}

function Get-EntryFacts {
    param([IO.FileSystemInfo]$Info)
    $folder = [bool]($Info.Attributes -band [IO.FileAttributes]::Directory)
    return [ordered]@{
        name = $Info.Name
        folder = $folder
        link = $folder -and [bool]($Info.Attributes -band [IO.FileAttributes]::ReparsePoint)
        size = $(if ($folder) { $null } else { [long]$Info.Length })
        modified = $Info.LastWriteTimeUtc.ToString('yyyy-MM-ddTHH:mm:ssZ')
    }
}

$index = 0
try {
    foreach ($disk in $Disks) {
        $record = Join-Path $markerDir ('{0}-{1}.mount.json' -f $RunId, $index)
        $index += 1
        $mount = [ordered]@{ path = $disk; record = $record; mounted = $false; dismounted = $false; error = $null }
        $result.mounts += , $mount
        if ((Hyper-V\Get-VHD -Path $disk).Attached) {
            throw "the virtual disk $disk is already attached on this host; it is left as it is"
        }
        # recorded before mounting: a crash right after Mount-VHD still leaves the record for the sweep
        $text = [ordered]@{ path = $disk; pid = $PID; process_started_ticks = $started } | ConvertTo-Json -Compress
        [IO.File]::WriteAllText($record, $text, (New-Object Text.UTF8Encoding($false)))
        # set before the call: whatever Mount-VHD attached, even if it then failed, is dismounted in finally
        # (the disk was not attached before, so anything attached now is this run's)
        $mount.mounted = $true
        $attached = Hyper-V\Mount-VHD -Path $disk -ReadOnly -NoDriveLetter -Passthru
        $number = [int]$attached.DiskNumber
        if ($Action -eq 'Volumes') {
            $facts = Get-VolumeFacts -DiskNumber $number
            $facts['path'] = $disk
            $result.disks += , $facts
        } else {
            $partition = Get-Partition -DiskNumber $number -PartitionNumber $PartitionNumber
            $volume = Get-Volume -Partition $partition | Select-Object -First 1
            if (-not $volume -or -not $volume.Path) { throw "partition $PartitionNumber of $disk shows no volume" }
            $root = [string]$volume.Path
        }
    }

    if ($Action -eq 'List') {
        foreach ($item in $Items) {
            $relative = [string]$item.path
            $full = $(if ($relative) { [IO.Path]::Combine($root, $relative) } else { $root })
            $entry = [ordered]@{ path = $relative; exists = $false; folder = $false; link = $false; name = $null; size = $null; modified = $null; children = @(); error = $null }
            try {
                $link = Get-LinkOnPath -Root $root -Relative $relative
                if ($link) { throw "$link is a junction or symbolic link; its target would be read on this host, not in the guest" }
                $dir = New-Object IO.DirectoryInfo($full)
                $file = New-Object IO.FileInfo($full)
                if ($relative -and $file.Exists) {
                    $facts = Get-EntryFacts -Info $file
                    foreach ($key in $facts.Keys) { $entry[$key] = $facts[$key] }
                    $entry.exists = $true
                } elseif ($dir.Exists) {
                    $entry.exists = $true
                    $entry.folder = $true
                    $entry.name = $dir.Name
                    if ($relative) { $entry.modified = $dir.LastWriteTimeUtc.ToString('yyyy-MM-ddTHH:mm:ssZ') }
                    if ($item.children) {
                        $entry.children = @(foreach ($child in $dir.GetFileSystemInfos()) { Get-EntryFacts -Info $child })
                    }
                }
            } catch {
                $entry.error = $_.Exception.Message
            }
            $result.items += , $entry
        }
    } elseif ($Action -eq 'Copy') {
        foreach ($item in $Items) {
            $source = [IO.Path]::Combine($root, [string]$item.source)
            $link = Get-LinkOnPath -Root $root -Relative ([string]$item.source)
            if ($link) { throw "$link is a junction or symbolic link; its target would be read on this host, not in the guest" }
            $destination = [string]$item.destination
            if ([string]$item.type -eq 'folder') {
                $null = [IO.Directory]::CreateDirectory($destination)
                $null = & robocopy.exe $source $destination /E /XJ /B /COPY:DAT /DCOPY:T "/R:$Retry" "/W:$Wait" /NP /NJH /NJS /NFL /NDL
            } else {
                $name = [IO.Path]::GetFileName($source)
                if ($name -ne [IO.Path]::GetFileName($destination)) { throw "source '$source' and destination '$destination' must have the same file name" }
                $folder = [IO.Path]::GetDirectoryName($destination)
                $null = [IO.Directory]::CreateDirectory($folder)
                $null = & robocopy.exe ([IO.Path]::GetDirectoryName($source)) $folder $name /B /COPY:DAT "/R:$Retry" "/W:$Wait" /NP /NJH /NJS /NFL /NDL
            }
            $code = $LASTEXITCODE
            $result.copied += , ([ordered]@{ source = [string]$item.source; destination = $destination; code = $code })
            if ($code -ge 8) {
                throw "robocopy exit code $code copying '$([string]$item.source)' to '$destination'"
            }
        }
    }
} catch {
    $result.error = $_.Exception.Message
} finally {
    foreach ($mount in $result.mounts) {
        try {
            if ($mount.mounted) { $null = Dismount-IfAttached -Path $mount.path }
            $mount.dismounted = $true
            if (Test-Path -LiteralPath $mount.record) { Remove-Item -LiteralPath $mount.record -Force }
        } catch {
            $mount.error = $_.Exception.Message
        }
    }
}

$Ansible.Changed = ($result.copied | Where-Object { $_.code -band 1 }).Count -gt 0
$Ansible.Result = $result | ConvertTo-Json -Depth 6 -Compress
