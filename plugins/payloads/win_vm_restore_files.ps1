# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# win_vm_restore, mode files: copy the named files from a backup generation with robocopy, one file
# per run (unbuffered I/O, explicit retries, no progress output). Stops at the first failure (robocopy
# exit code 8 or more) and reports every exit code; the controller verifies the copies afterwards.
param(
    # Each entry: @{ source = 'file in the generation'; destination = 'full path of the copy' }
    [Parameter(Mandatory)][object[]]$Items,
    [int]$Retry = 2,
    [int]$Wait = 5
)

$ErrorActionPreference = 'Stop'
$result = [ordered]@{ copied = @(); error = $null }
foreach ($item in $Items) {
    $source = [string]$item.source
    $destination = [string]$item.destination
    $sourceDir = [IO.Path]::GetDirectoryName($source)
    $destinationDir = [IO.Path]::GetDirectoryName($destination)
    $file = [IO.Path]::GetFileName($source)
    if ($file -ne [IO.Path]::GetFileName($destination)) {
        throw "source '$source' and destination '$destination' must have the same file name"
    }
    $null = [IO.Directory]::CreateDirectory($destinationDir)
    $null = & robocopy.exe $sourceDir $destinationDir $file /J /COPY:DAT /DCOPY:T "/R:$Retry" "/W:$Wait" /NP /NJH /NJS /NFL /NDL
    $code = $LASTEXITCODE
    $result.copied += , ([ordered]@{ source = $source; destination = $destination; code = $code })
    if ($code -ge 8) {
        $result.error = "robocopy exit code $code copying '$source' to '$destinationDir'"
        break
    }
}

$Ansible.Changed = $result.copied.Count -gt 0
$Ansible.Result = $result | ConvertTo-Json -Depth 3 -Compress
