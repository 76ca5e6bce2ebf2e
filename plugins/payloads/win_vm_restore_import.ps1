# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# win_vm_restore, step "import": import the VM configuration from a backup generation as a copy with
# a new id into its own folder, with every virtual disk taken from the backup (never from the path the
# configuration recorded, which may be the live VM's disk), network adapters disconnected unless
# -ConnectNetwork, renamed to -Name, with -Marker added to its notes. If anything after Import-VM
# fails, the imported VM and its folder are removed again.
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
if ((Test-Path -LiteralPath $VmFolder) -and @(Get-ChildItem -LiteralPath $VmFolder -Force).Count -gt 0) {
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

$vm = Hyper-V\Import-VM -CompatibilityReport $report
try {
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
    $failure = $_
    Hyper-V\Remove-VM -VM $vm -Force
    Remove-Item -LiteralPath $VmFolder -Recurse -Force -ErrorAction SilentlyContinue
    throw $failure
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
