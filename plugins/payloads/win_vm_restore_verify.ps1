# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# win_vm_restore, step "verify": size (and, with -Hash, SHA-256) of each file named, and whether each
# folder named exists and how many entries it holds. Read-only; the controller compares the answer
# with the manifest.
[CmdletBinding(SupportsShouldProcess)]
param(
    [string[]]$Paths = @(),
    [bool]$Hash = $false,
    [string[]]$Folders = @()
)

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
        $entry = [ordered]@{ path = $folder; exists = $false; entries = 0 }
        if (Test-Path -LiteralPath $folder -PathType Container) {
            $entry.exists = $true
            $entry.entries = @(Get-ChildItem -LiteralPath $folder -Force).Count
        } elseif (Test-Path -LiteralPath $folder) {
            $entry.exists = $true
            $entry.entries = -1
        }
        $entry
    })

$Ansible.Changed = $false
$Ansible.Result = [ordered]@{ files = $files; folders = $folderState } | ConvertTo-Json -Depth 4 -Compress
