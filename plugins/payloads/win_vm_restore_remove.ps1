# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# win_vm_restore, step "remove": turn off and remove a VM this module restored (found by id) and delete
# its folder. The folder is deleted only when the VM's configuration lies inside it, so nothing else
# can be removed by mistake.
param(
    [Parameter(Mandatory)][string]$VmId,
    [Parameter(Mandatory)][string]$VmFolder
)

$ErrorActionPreference = 'Stop'
$result = [ordered]@{ vm_found = $false; vm_removed = $false; folder_removed = $false }
$folder = $VmFolder.TrimEnd('\')
$vm = @(Hyper-V\Get-VM | Where-Object -FilterScript { $_.Id.ToString() -eq $VmId })
if ($vm.Count -eq 1) {
    $vm = $vm[0]
    $result.vm_found = $true
    $location = ([string]$vm.ConfigurationLocation).TrimEnd('\')
    if (-not ($location -eq $folder -or $location.StartsWith($folder + '\', [StringComparison]::OrdinalIgnoreCase))) {
        throw "VM $VmId lives in '$location', not in '$folder': not removing it"
    }
    if ($vm.State.ToString() -ne 'Off') {
        Hyper-V\Stop-VM -VM $vm -TurnOff -Force
    }
    Hyper-V\Remove-VM -VM $vm -Force
    $result.vm_removed = $true
    if (Test-Path -LiteralPath $folder) {
        Remove-Item -LiteralPath $folder -Recurse -Force
    }
    $result.folder_removed = -not (Test-Path -LiteralPath $folder)
}

$Ansible.Changed = $result.vm_removed
$Ansible.Result = $result | ConvertTo-Json -Compress
