# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# win_vm_restore, step "verify": size (and, with -Hash, SHA-256) of each file named, and whether each
# folder named exists, how many entries it holds and the free space of the volume it is (or would be) on.
# Read-only; the controller compares the answer with the manifest and the space the restore needs.
[CmdletBinding(SupportsShouldProcess)]
param(
    [string[]]$Paths = @(),
    [bool]$Hash = $false,
    [string[]]$Folders = @()
)
#vaware:include vss_common

$ErrorActionPreference = 'Stop'
$WhatIfPreference = $false

$files = @(foreach ($path in $Paths) {
        $entry = [ordered]@{ path = $path; exists = $false; size = $null; sha256 = $null }
        if (Test-Path -LiteralPath $path -PathType Leaf) {
            $entry.exists = $true
            $entry.size = (Get-Item -LiteralPath $path -Force).Length
            if ($Hash) {
                $entry.sha256 = (Get-FileHash -LiteralPath $path -Algorithm SHA256).Hash.ToLowerInvariant()
            }
        }
        $entry
    })

$folderState = @(foreach ($folder in $Folders) {
        $entry = [ordered]@{ path = $folder; exists = $false; entries = 0; free_bytes = $null; free_error = $null }
        if (Test-Path -LiteralPath $folder -PathType Container) {
            $entry.exists = $true
            $entry.entries = @(Get-ChildItem -LiteralPath $folder -Force).Count
        } elseif (Test-Path -LiteralPath $folder) {
            $entry.exists = $true
            $entry.entries = -1
        }
        # the free space where the folder is or will be: of its nearest folder that exists
        $probe = $folder
        while ($probe -and -not (Test-Path -LiteralPath $probe -PathType Container)) { $probe = Split-Path -Path $probe -Parent }
        if ($probe) {
            try { $entry.free_bytes = [long](Get-DiskSpace -Path $probe).free_bytes } catch { $entry.free_error = $_.Exception.Message }
        }
        $entry
    })

$Ansible.Changed = $false
$Ansible.Result = [ordered]@{ files = $files; folders = $folderState } | ConvertTo-Json -Depth 4 -Compress
