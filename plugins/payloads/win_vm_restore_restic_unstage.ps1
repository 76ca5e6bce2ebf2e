# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# win_vm_restore with a restic repository, step "remove staging folder": delete the folder a snapshot was
# restored into before the import copied the VM out of it. Only a folder named like one
# (<name>.restic-<snapshot id>) is deleted, so nothing else can be removed by mistake.
param(
    [Parameter(Mandatory)][string]$Folder
)

$ErrorActionPreference = 'Stop'
$leaf = Split-Path -Path $Folder.TrimEnd('\') -Leaf
if ($leaf -notmatch '\.restic-[0-9a-f]{8,64}$') {
    throw "'$Folder' is not a restic staging folder (<name>.restic-<snapshot id>): not deleting it"
}
$existed = Test-Path -LiteralPath $Folder
if ($existed) {
    Remove-Item -LiteralPath $Folder -Recurse -Force
}
$Ansible.Changed = $existed
$Ansible.Result = [ordered]@{ removed = $existed; exists = (Test-Path -LiteralPath $Folder) } | ConvertTo-Json -Compress
