# Reads every volume and mount point from CIM and, with -VmPlacement, the paths of the Hyper-V
# virtual machines' files. Returns the raw objects as JSON; all shaping happens on the controller
# (plugins/plugin_utils/_vss/volumes.py). Read-only: SupportsShouldProcess lets win_powershell run it in
# check mode. Works on Windows PowerShell 5.1 and PowerShell 7.
[CmdletBinding(SupportsShouldProcess)]
param (
    [bool]$VmPlacement = $false
)

$ErrorActionPreference = 'Stop'
$WhatIfPreference = $false

$volumeProperties = @(
    'DeviceID', 'Name', 'DriveLetter', 'Label', 'FileSystem', 'Capacity', 'FreeSpace', 'BlockSize',
    'DriveType', 'SerialNumber', 'SystemVolume', 'BootVolume', 'PageFilePresent'
)
$volumes = @(Get-CimInstance -ClassName Win32_Volume | Select-Object -Property $volumeProperties)

# Win32_MountPoint references a Win32_Directory (key Name) and a Win32_Volume (key DeviceID).
$mountPoints = @(Get-CimInstance -ClassName Win32_MountPoint | ForEach-Object -Process {
        [PSCustomObject]@{
            Directory = $_.Directory.Name
            Volume = $_.Volume.DeviceID
        }
    })

$hyperV = $null
$hyperVError = $null
$virtualSystems = @()
if ($VmPlacement) {
    # VM placement is extra: when the Hyper-V namespace exists but cannot be read (access denied,
    # broken WMI repository), the volume facts still come back and the error is reported with them.
    try {
        $namespace = 'root\virtualization\v2'
        $hasVirtualization = @(Get-CimInstance -Namespace 'root' -ClassName '__NAMESPACE' |
                Where-Object -Property Name -EQ 'virtualization').Count -gt 0
        $hasV2 = $hasVirtualization -and @(Get-CimInstance -Namespace 'root\virtualization' -ClassName '__NAMESPACE' |
                Where-Object -Property Name -EQ 'v2').Count -gt 0
        $hyperV = [bool]$hasV2

        if ($hyperV) {
            $settingProperties = @(
                'InstanceID', 'VirtualSystemIdentifier', 'VirtualSystemType', 'ElementName',
                'ConfigurationDataRoot', 'ConfigurationFile', 'SnapshotDataRoot', 'SwapFileDataRoot',
                'SuspendDataRoot', 'LogDataRoot'
            )
            # The VMs themselves and their checkpoints; planned (half-imported) systems are left out.
            $settings = @(Get-CimInstance -Namespace $namespace -ClassName Msvm_VirtualSystemSettingData |
                    Where-Object -FilterScript { $_.VirtualSystemType -like 'Microsoft:Hyper-V:*:Realized' })
            $virtualSystems = @(foreach ($setting in $settings) {
                    $disks = @(Get-CimAssociatedInstance -InputObject $setting -ResultClassName Msvm_StorageAllocationSettingData |
                            Select-Object -Property ResourceSubType, HostResource)
                    $entry = $setting | Select-Object -Property $settingProperties
                    $entry | Add-Member -MemberType NoteProperty -Name Disks -Value $disks
                    $entry
                })
        }
    }
    catch {
        $hyperVError = "$($_.Exception.Message)".Trim()
        if (-not $hyperVError) {
            $hyperVError = "$_"
        }
        $virtualSystems = @()
    }
}

$Ansible.Changed = $false
$Ansible.Result = [PSCustomObject]@{
    volumes = $volumes
    mount_points = $mountPoints
    hyperv = $hyperV
    hyperv_error = $hyperVError
    virtual_systems = $virtualSystems
} | ConvertTo-Json -Depth 6 -Compress
