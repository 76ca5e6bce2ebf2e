# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# win_vm_file_restore, step "read disks": for each virtual disk file of a backup generation, whether it
# exists, its type, its parent (a differencing disk's parent locator) and whether it is attached on this
# host. Read-only (Get-VHD opens nothing for writing and mounts nothing); the controller decides which disk
# of each chain is mounted and refuses chains whose parents lie outside the generation.
[CmdletBinding(SupportsShouldProcess)]
param(
    [Parameter(Mandatory)][string[]]$Paths
)

$ErrorActionPreference = 'Stop'
$WhatIfPreference = $false
$disks = @(foreach ($path in $Paths) {
        $entry = [ordered]@{ path = $path; exists = $false; vhd_type = $null; parent_path = $null; attached = $false; error = $null }
        if (Test-Path -LiteralPath $path -PathType Leaf) {
            $entry.exists = $true
            try {
                $vhd = Hyper-V\Get-VHD -Path $path
                $entry.vhd_type = [string]$vhd.VhdType
                $entry.parent_path = [string]$vhd.ParentPath
                $entry.attached = [bool]$vhd.Attached
            } catch {
                $entry.exists = $false
                $entry.error = $_.Exception.Message
            }
        }
        $entry
    })

$Ansible.Changed = $false
$Ansible.Result = [ordered]@{ disks = $disks } | ConvertTo-Json -Depth 3 -Compress
