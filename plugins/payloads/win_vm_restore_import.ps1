# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# win_vm_restore, step "import": import the VM configuration from a backup generation as a copy with
# a new id into its own folder, with every virtual disk taken from the backup (never from the path the
# configuration recorded, which may be the live VM's disk), network adapters disconnected unless
# -ConnectNetwork, renamed to -Name, with -Marker added to its notes. -VmFolder belongs to this
# restore alone (it is refused unless missing or empty): if Import-VM or anything after it fails (a
# copy that runs out of disk space, say), every VM registered inside it is removed and the folder is
# emptied again, so the next run is not refused with "folder not empty". The error says whether that
# clean-up worked.
param(
    [Parameter(Mandatory)][string]$ConfigPath,
    [Parameter(Mandatory)][string]$VmFolder,
    [Parameter(Mandatory)][string]$Name,
    # Each entry: @{ original = 'path the configuration records'; backup = 'the copy in the generation' }
    [object[]]$Disks = @(),
    [bool]$ConnectNetwork = $false,
    [string]$Marker = ''
)

$ErrorActionPreference = 'Stop'
$folderExisted = Test-Path -LiteralPath $VmFolder
if ($folderExisted -and @(Get-ChildItem -LiteralPath $VmFolder -Force).Count -gt 0) {
    throw "the restore folder '$VmFolder' already exists and is not empty"
}
$map = @{}
foreach ($disk in $Disks) {
    $map[([string]$disk.original).ToLowerInvariant()] = [string]$disk.backup
}

$report = Hyper-V\Compare-VM -Path $ConfigPath -Copy -GenerateNewId -VirtualMachinePath $VmFolder `
    -SnapshotFilePath $VmFolder -SmartPagingFilePath $VmFolder `
    -VhdDestinationPath (Join-Path $VmFolder 'Virtual Hard Disks')
foreach ($drive in @($report.VM.HardDrives)) {
    $recorded = [string]$drive.Path
    $backup = $map[$recorded.ToLowerInvariant()]
    if (-not $backup) {
        throw "the configuration attaches '$recorded', which is not in the backup: not importing a VM that would use a disk from outside the backup"
    }
    Hyper-V\Set-VMHardDiskDrive -VMHardDiskDrive $drive -Path $backup
}
if (-not $ConnectNetwork) {
    foreach ($adapter in @($report.VM.NetworkAdapters)) {
        Hyper-V\Disconnect-VMNetworkAdapter -VMNetworkAdapter $adapter
    }
}
$report = Hyper-V\Compare-VM -CompatibilityReport $report
$problems = @($report.Incompatibilities | ForEach-Object -Process { "$($_.MessageId): $($_.Message)" })
if ($problems.Count -gt 0) {
    throw "Hyper-V cannot import '$ConfigPath': $($problems -join '; ')"
}

$vm = $null
try {
    $vm = Hyper-V\Import-VM -CompatibilityReport $report
    Hyper-V\Rename-VM -VM $vm -NewName $Name
    if ($Marker) {
        $notes = ([string]$vm.Notes).TrimEnd()
        if ($notes) { $notes += "`r`n" }
        Hyper-V\Set-VM -VM $vm -Notes ($notes + $Marker)
    }
    $vm = Hyper-V\Get-VM -Id $vm.Id
    $disks = @(Hyper-V\Get-VMHardDiskDrive -VM $vm | ForEach-Object -Process {
            $size = $null
            if ($_.Path -and (Test-Path -LiteralPath $_.Path -PathType Leaf)) { $size = (Get-Item -LiteralPath $_.Path).Length }
            [ordered]@{ path = $_.Path; size = $size }
        })
    $adapters = @(Hyper-V\Get-VMNetworkAdapter -VM $vm | ForEach-Object -Process {
            [ordered]@{ name = $_.Name; switch = $_.SwitchName; connected = [bool]$_.SwitchName }
        })
} catch {
    $failure = $_.Exception.Message
    # Undo this restore: the folder was missing or empty before, so whatever is in it now is ours.
    $cleanup = @()
    $folder = $VmFolder.TrimEnd('\')
    $ours = @()
    try {
        $ours = @(Hyper-V\Get-VM | Where-Object -FilterScript {
                $location = ([string]$_.ConfigurationLocation).TrimEnd('\')
                ($null -ne $vm -and $_.Id -eq $vm.Id) -or $location -eq $folder -or
                $location.StartsWith($folder + '\', [StringComparison]::OrdinalIgnoreCase)
            })
    } catch {
        $cleanup += "the VMs could not be listed: $($_.Exception.Message)"
    }
    foreach ($leftover in $ours) {
        try {
            Hyper-V\Remove-VM -VM $leftover -Force
        } catch {
            $cleanup += "VM $($leftover.Id) could not be removed: $($_.Exception.Message)"
        }
    }
    try {
        if ($folderExisted) {
            Get-ChildItem -LiteralPath $VmFolder -Force | Remove-Item -Recurse -Force
        } elseif (Test-Path -LiteralPath $VmFolder) {
            Remove-Item -LiteralPath $VmFolder -Recurse -Force
        }
    } catch {
        $cleanup += "the folder could not be emptied: $($_.Exception.Message)"
    }
    if ($cleanup.Count -gt 0) {
        throw "import into '$VmFolder' failed: $failure; cleaning up FAILED ($($cleanup -join '; ')): remove what is left in '$VmFolder' by hand"
    }
    throw "import into '$VmFolder' failed: $failure; the restore folder was cleaned up, nothing of this restore is left on the host"
}

$Ansible.Changed = $true
$Ansible.Result = [ordered]@{
    id = $vm.Id.ToString()
    name = $vm.Name
    state = $vm.State.ToString()
    path = $vm.ConfigurationLocation
    disks = $disks
    adapters = $adapters
} | ConvertTo-Json -Depth 4 -Compress
