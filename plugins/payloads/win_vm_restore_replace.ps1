# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# win_vm_restore, step "replace": called only once the restored copy is imported and verified. Stops
# and removes the original VM (by id; Remove-VM keeps its disk files) and gives the restored VM the
# original name. Reports how far it got instead of throwing, so the controller can say exactly what
# state the host is in. When the original was stopped but could not be removed, it is started again if
# it was running, and its state after that is reported.
param(
    [string]$OriginalId = '',
    [Parameter(Mandatory)][string]$RestoredId,
    [Parameter(Mandatory)][string]$Name
)

$ErrorActionPreference = 'Stop'
$result = [ordered]@{
    original_found = $false
    original_state = $null
    original_files = @()
    stopped = $false
    removed = $false
    restarted = $false
    restart_error = $null
    state_now = $null
    renamed = $false
    step = 'find'
    error = $null
}
try {
    $restored = @(Hyper-V\Get-VM | Where-Object -FilterScript { $_.Id.ToString() -eq $RestoredId })
    if ($restored.Count -ne 1) {
        throw "the restored VM $RestoredId is not registered"
    }
    $original = @()
    if ($OriginalId) {
        $original = @(Hyper-V\Get-VM | Where-Object -FilterScript { $_.Id.ToString() -eq $OriginalId })
    }
    if ($original.Count -eq 1) {
        $vm = $original[0]
        $result.original_found = $true
        $result.original_state = $vm.State.ToString()
        $result.original_files = @(@($vm.ConfigurationLocation) + @(Hyper-V\Get-VMHardDiskDrive -VM $vm | ForEach-Object -Process { $_.Path }))
        $result.step = 'stop'
        if ($result.original_state -eq 'Running') {
            Hyper-V\Stop-VM -VM $vm -Force
        } elseif ($result.original_state -ne 'Off') {
            Hyper-V\Stop-VM -VM $vm -TurnOff -Force
        }
        $result.stopped = $true
        $result.step = 'remove'
        Hyper-V\Remove-VM -VM $vm -Force
        $result.removed = $true
    }
    $result.step = 'rename'
    Hyper-V\Rename-VM -VM $restored[0] -NewName $Name
    $result.renamed = $true
    $result.step = $null
} catch {
    $result.error = $_.Exception.Message
    if ($result.stopped -and -not $result.removed) {
        # Stopped but still registered: do not leave a running VM off because the replace failed.
        if ($result.original_state -eq 'Running') {
            try {
                Hyper-V\Start-VM -VM $vm
                $result.restarted = $true
            } catch {
                $result.restart_error = $_.Exception.Message
            }
        }
        try {
            $result.state_now = (Hyper-V\Get-VM -Id $vm.Id).State.ToString()
        } catch {
            $result.state_now = $null
        }
    }
}

$Ansible.Changed = ($result.stopped -or $result.removed -or $result.renamed)
$Ansible.Result = $result | ConvertTo-Json -Depth 3 -Compress
