# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# win_vss_backup, steps "cancel" and "finalize": hand the running job runner a message by writing
# one file into its job folder: cancel.request (stop now, clean up), space.json (short of space before
# the snapshot: the generations the policy already expires, to delete first), restic_plan.json (a
# restic job before the snapshot: refuse, or the backup steps naming each VM's parent snapshot) or
# verdict.json (the controller's verdict after verification: the manifest to write and the expired
# generations to delete). space.json, restic_plan.json and verdict.json are signed with the job's key
# so that the runner acts on no other file put there.
param(
    [Parameter(Mandatory)][string]$JobId,
    [Parameter(Mandatory)][ValidateSet('cancel.request', 'space.json', 'restic_plan.json', 'verdict.json')][string]$Name,
    [string]$Text = ''
)
#vaware:include vss_common

$ErrorActionPreference = 'Stop'
$jobDir = (Get-VawarePaths -JobId $JobId).job_dir
if (-not (Test-Path -LiteralPath $jobDir -PathType Container)) {
    throw "job $JobId has no job folder $jobDir"
}
$path = Join-Path $jobDir $Name
$tmp = $path + '.tmp'
$content = $Text
if ($Name -ne 'cancel.request') {
    # Signed with the job's key, so the runner can tell it from a file anyone else put there.
    $keyPath = Join-Path $jobDir 'job.key'
    if (-not (Test-Path -LiteralPath $keyPath -PathType Leaf)) {
        throw "job $JobId has no job.key: it was started by an earlier version or not by this module"
    }
    $mac = Get-VerdictMac -Key ([IO.File]::ReadAllBytes($keyPath)) -JobId $JobId -Text $Text
    $content = [ordered]@{ job_id = $JobId; body = $Text; mac = $mac } | ConvertTo-Json -Compress
}
[IO.File]::WriteAllText($tmp, $content, (New-Object Text.UTF8Encoding($false)))
if (Test-Path -LiteralPath $path) { Remove-Item -LiteralPath $path -Force }
# Renamed into place so the runner never reads a half-written file.
[IO.File]::Move($tmp, $path)

$Ansible.Changed = $true
$Ansible.Result = [ordered]@{ job_id = $JobId; written = $Name } | ConvertTo-Json -Compress
