# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# win_vm_restore, test boot: -Action Start starts the restored copy (found by id); -Action Status reads
# its state, heartbeat and uptime. The controller polls Status and decides the outcome.
param(
    [Parameter(Mandatory)][ValidateSet('Start', 'Status')][string]$Action,
    [Parameter(Mandatory)][string]$VmId
)

$ErrorActionPreference = 'Stop'
$vm = @(Hyper-V\Get-VM | Where-Object -FilterScript { $_.Id.ToString() -eq $VmId })
if ($vm.Count -ne 1) {
    throw "no VM with id $VmId is registered"
}
$vm = $vm[0]
if ($Action -eq 'Start') {
    Hyper-V\Start-VM -VM $vm
    $vm = Hyper-V\Get-VM -Id $vm.Id
    $Ansible.Changed = $true
} else {
    $Ansible.Changed = $false
}
# Heartbeat is a VMHeartbeatStatus value (OkApplicationsHealthy, NoContact, Disabled, ...), never localized.
$heartbeat = if ($null -ne $vm.Heartbeat) { $vm.Heartbeat.ToString() } else { $null }
$Ansible.Result = [ordered]@{
    state = $vm.State.ToString()
    heartbeat = $heartbeat
    heartbeat_enabled = ($heartbeat -ne 'Disabled')
    uptime_seconds = [math]::Floor($vm.Uptime.TotalSeconds)
} | ConvertTo-Json -Compress
