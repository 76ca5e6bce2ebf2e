# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# win_vss_backup job runner. The start payload copies this file into the job folder
# (%ProgramData%\vaware.hyperv\jobs\<job id>\runner.ps1) and a one-shot scheduled task runs it as
# SYSTEM or the run_as account, detached from the WinRM session. It only executes what the controller
# planned (params.json and the rendered diskshadow script and copy wrapper in the same folder):
#
#   1. check the destination from this account: reachable, the host's generations listed with their
#      manifests (generations.json; retention is decided from this list), free space >= required_bytes.
#      Short of space with expire_when_short, it waits for the controller's signed space.json naming
#      the generations the policy already expires, deletes those and checks the space again.
#   2. create the empty mount folders and run `diskshadow /s <script>`, transcript to a file;
#      a cancel.request file in the job folder stops diskshadow and everything it started
#   3. finally, always: delete exactly this job's shadow copies by id (the set id diskshadow printed,
#      and any shadow exposed on one of this job's mount folders; never all shadows), remove the
#      mount folders
#   4. list the generation's files (size, SHA-256 when asked) for the controller to verify
#   5. wait for the controller's verdict.json, signed with this job's key (job.key): write the manifest it
#      contains and delete the expired generations it names; an unsigned verdict is recorded and ignored
#   6. release the lock (only if it still names this job)
#
# status.json is rewritten atomically at every phase change and every few seconds while copying.
#
# A restic job (params.repository_type restic) replaces step 1: it runs the plan's read-only probe steps
# (`restic cat config`, `restic snapshots`) and waits for the controller's signed restic_plan.json, which
# refuses (nothing is snapshotted) or gives the backup steps, each naming its VM's parent snapshot. In step 2
# diskshadow only creates and exposes the shadows, then restic runs once per VM over the mount folders (the argument lists of the plan, quoted
# by the controller; stdout and stderr into the job folder, exit codes into status.json); step 4 is
# `restic check`, and step 5 runs the verdict's `restic forget` / `restic prune` steps. restic's
# environment comes from restic.env.json (read once, then deleted); the password file restic.pass is
# deleted when the job ends. Both were written by the start payload, readable only by the job account.
param()
#vaware:include vss_common

$ErrorActionPreference = 'Stop'
$jobDir = $PSScriptRoot
$lockPath = (Get-VawarePaths).lock_path
$params = [IO.File]::ReadAllText((Join-Path $jobDir 'params.json')) | ConvertFrom-Json
$jobKey = [IO.File]::ReadAllBytes((Join-Path $jobDir 'job.key'))
$cancelPath = Join-Path $jobDir 'cancel.request'
$utf8 = New-Object Text.UTF8Encoding($false)
$me = Get-Process -Id $PID

$status = [ordered]@{
    job_id = $params.job_id
    phase = 'starting'
    outcome = 'running'
    pid = $PID
    # Ticks, not text: a date string may come back from ConvertFrom-Json as a DateTime (PowerShell 7).
    pid_started_ticks = $me.StartTime.ToUniversalTime().Ticks
    account = [Security.Principal.WindowsIdentity]::GetCurrent().Name
    started_at = [DateTime]::UtcNow.ToString('o')
    updated_at = $null
    finished_at = $null
    error = $null
    error_phase = $null
    cancelled = $false
    destination_free_bytes = $null
    destination_total_bytes = $null
    required_bytes = $params.required_bytes
    generations_listed = $false
    generations_error = $null
    space_verdict = $null
    expired_before_copy = @()
    diskshadow_started_at = $null
    diskshadow_finished_at = $null
    diskshadow_exit_code = $null
    bytes_copied = 0
    vm_bytes = [ordered]@{}
    shadow_set_ids = @()
    shadows_deleted = @()
    shadow_delete_errors = @()
    mount_folders_left = @()
    unattributed_shadows = @()
    listing_written = $false
    verdict = $null
    rejected_verdicts = @()
    manifest_written = $false
    expired_deleted = @()
    expired_errors = @()
    restic_exit_codes = [ordered]@{}
    restic_progress = $null
    restic_plan = $null
}

function Write-Status {
    param([string]$Phase)
    if ($Phase) { $status.phase = $Phase }
    $status.updated_at = [DateTime]::UtcNow.ToString('o')
    Write-FileAtomically -Path (Join-Path $jobDir 'status.json') -Text ($status | ConvertTo-Json -Depth 6 -Compress)
}

function Get-FolderBytes {
    param([string]$Path)
    if (-not (Test-Path -LiteralPath $Path -PathType Container)) { return [long]0 }
    $sum = [long]0
    foreach ($f in @(Get-ChildItem -LiteralPath $Path -Recurse -Force -File -ErrorAction SilentlyContinue)) {
        $sum += $f.Length
    }
    return $sum
}

function Update-Progress {
    $total = [long]0
    foreach ($vm in @($params.vm_destinations)) {
        $bytes = Get-FolderBytes -Path $vm.destination
        $status.vm_bytes[$vm.name] = $bytes
        $total += $bytes
    }
    foreach ($extra in @($params.extra_destinations)) {
        $total += (Get-FolderBytes -Path $extra)
    }
    $status.bytes_copied = $total
}

function Stop-ProcessTree {
    param([int]$ProcessId)
    # diskshadow -> cmd.exe (EXEC) -> robocopy.exe: end the whole tree, children first.
    foreach ($child in @(Get-CimInstance -ClassName Win32_Process -Filter "ParentProcessId = $ProcessId" -ErrorAction SilentlyContinue)) {
        Stop-ProcessTree -ProcessId ([int]$child.ProcessId)
    }
    Stop-Process -Id $ProcessId -Force -ErrorAction SilentlyContinue
}

function Remove-JobShadows {
    # Exactly this job's shadows: the set ids diskshadow printed for this job, and any shadow exposed
    # on one of this job's mount folders. Each is deleted by its own id. A shadow exposed on a local
    # folder names it in ExposedName (Win32_ShadowCopy has no other property for the place).
    $setIds = @()
    $transcript = [string]$params.transcript
    if (Test-Path -LiteralPath $transcript -PathType Leaf) {
        $text = [IO.File]::ReadAllText($transcript)
        foreach ($m in [regex]::Matches($text, 'shadow set ID (\{[0-9A-Fa-f-]{36}\})')) {
            $setIds += $m.Groups[1].Value.ToLowerInvariant()
        }
    }
    $mountFolders = @($params.mount_folders | ForEach-Object { ([string]$_).TrimEnd('\').ToLowerInvariant() })
    $mine = @(Get-CimInstance -ClassName Win32_ShadowCopy -ErrorAction SilentlyContinue | Where-Object {
            ($setIds -contains ([string]$_.SetID).ToLowerInvariant()) -or
            ($_.ExposedName -and ($mountFolders -contains ([string]$_.ExposedName).TrimEnd('\').ToLowerInvariant()))
        })
    $status.shadow_set_ids = @($setIds | Select-Object -Unique)
    # Shadows that appeared on this job's volumes while diskshadow ran but that diskshadow never named
    # (it was stopped in the middle of CREATE) cannot be told from another product's: report, never delete.
    $volumes = @($params.volume_paths | ForEach-Object { ([string]$_).ToLowerInvariant() })
    if ($null -eq $before) { $volumes = @() }  # diskshadow never ran: nothing can be new
    $status.unattributed_shadows = @(Get-CimInstance -ClassName Win32_ShadowCopy -ErrorAction SilentlyContinue | Where-Object {
            ($before -notcontains [string]$_.ID) -and ($mine.ID -notcontains $_.ID) -and
            ($volumes -contains ([string]$_.VolumeName).ToLowerInvariant())
        } | ForEach-Object { [string]$_.ID })
    $deleted = Remove-ShadowCopiesById -Ids @($mine | ForEach-Object { [string]$_.ID })
    $status.shadows_deleted += @($deleted.deleted)
    $status.shadow_delete_errors += @($deleted.errors)
}

function Remove-MountFolders {
    $left = @()
    foreach ($folder in @($params.mount_folders)) {
        $folder = [string]$folder
        try {
            $null = Remove-MountFolder -Path $folder -Within $jobDir
        } catch {
            $left += [ordered]@{ path = $folder; error = $_.Exception.Message }
        }
    }
    $mountRoot = Join-Path $jobDir 'mnt'
    if ((Test-Path -LiteralPath $mountRoot) -and -not (Get-ChildItem -LiteralPath $mountRoot -Force)) {
        [IO.Directory]::Delete($mountRoot, $false)
    }
    $status.mount_folders_left = $left
}

function Read-SignedVerdict {
    # The controller's verdict, only when it is signed with this job's key for this job; $null while
    # there is none. An unsigned or wrongly signed file is recorded, removed and never acted on.
    param([string]$Path)
    if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) { return $null }
    $reason = $null
    try {
        $envelope = [IO.File]::ReadAllText($Path) | ConvertFrom-Json
        $expected = Get-VerdictMac -Key $jobKey -JobId ([string]$params.job_id) -Text ([string]$envelope.body)
        if ([string]$envelope.job_id -ne [string]$params.job_id) {
            $reason = "it names job '$($envelope.job_id)'"
        } elseif ([string]$envelope.mac -ne $expected) {
            $reason = 'its signature does not match this job''s key'
        } else {
            return ([string]$envelope.body | ConvertFrom-Json)
        }
    } catch {
        $reason = 'it is not a signed verdict: ' + $_.Exception.Message
    }
    $status.rejected_verdicts += [ordered]@{ at = [DateTime]::UtcNow.ToString('o'); reason = $reason }
    Remove-Item -LiteralPath $Path -Force -ErrorAction SilentlyContinue
    Write-Status
    return $null
}

function Remove-Generations {
    # Deletes the named generation folders of this host (never the one this job writes); each result is
    # recorded in the status under -Into (deleted) and expired_errors.
    param([object[]]$Paths, [string]$Into)
    foreach ($old in @($Paths)) {
        $old = [string]$old
        $parent = Split-Path -Parent $old.TrimEnd('\')
        if (-not $old -or $parent.TrimEnd('\') -ne ([string]$params.host_path).TrimEnd('\') -or
            $old.TrimEnd('\') -eq ([string]$params.generation_path).TrimEnd('\')) {
            $status.expired_errors += [ordered]@{ path = $old; error = 'not a generation folder of this host' }
            continue
        }
        try {
            if (Test-Path -LiteralPath $old) { Remove-Item -LiteralPath $old -Recurse -Force }
            $status[$Into] += $old
        } catch {
            $status.expired_errors += [ordered]@{ path = $old; error = $_.Exception.Message }
        }
    }
}

function Wait-SignedVerdict {
    # Waits for the controller's signed answer in the job folder file -Name; $null on cancel or timeout.
    param([string]$Name)
    $path = Join-Path $jobDir $Name
    $deadline = [DateTime]::UtcNow.AddSeconds([int]$params.verdict_timeout_seconds)
    $answer = $null
    while ($null -eq $answer -and -not (Test-Cancel) -and [DateTime]::UtcNow -lt $deadline) {
        $answer = Read-SignedVerdict -Path $path
        if ($null -eq $answer) { Start-Sleep -Seconds 2 }
    }
    return $answer
}

function Test-Space {
    $space = Get-DiskSpace -Path $params.generation_path
    $status.destination_free_bytes = $space.free_bytes
    $status.destination_total_bytes = $space.total_bytes
    return ($null -eq $params.required_bytes -or $space.free_bytes -ge [UInt64]$params.required_bytes)
}

function Test-Cancel {
    return (Test-Path -LiteralPath $cancelPath -PathType Leaf)
}

function Set-ResticEnvironment {
    # restic's environment (repository, password file, backend credentials): read once, then the file goes.
    $path = [string]$params.restic.environment_file
    $values = [IO.File]::ReadAllText($path) | ConvertFrom-Json
    Remove-Item -LiteralPath $path -Force
    foreach ($item in $values.PSObject.Properties) {
        [Environment]::SetEnvironmentVariable($item.Name, [string]$item.Value, 'Process')
    }
}

function Get-ResticProgress {
    # The last status line of a running `restic backup --json`, read while restic still writes the file.
    param($Step)
    $text = ''
    $stream = [IO.File]::Open([string]$Step.stdout, [IO.FileMode]::Open, [IO.FileAccess]::Read, [IO.FileShare]::ReadWrite)
    try {
        $null = $stream.Seek([Math]::Max([long]0, $stream.Length - 65536), [IO.SeekOrigin]::Begin)
        $text = (New-Object IO.StreamReader($stream)).ReadToEnd()
    } finally {
        $stream.Dispose()
    }
    $lines = @($text -split "`n")
    for ($i = $lines.Count - 1; $i -ge 0; $i--) {
        if ($lines[$i].StartsWith('{"message_type":"status"')) {
            try { $line = $lines[$i] | ConvertFrom-Json } catch { continue }
            return [ordered]@{ vm = $Step.vm; step = $Step.id; percent_done = $line.percent_done; bytes_done = $line.bytes_done; total_bytes = $line.total_bytes }
        }
    }
    return $status.restic_progress
}

function Invoke-Restic {
    # One restic step of the plan or the verdict: restic.exe with the step's command line (the controller
    # quoted the argument list for CreateProcess), stdout and stderr to the step's files; the exit code is
    # recorded in status.json. A failing step does not stop the job: the controller reads what restic printed.
    param($Step)
    $proc = Start-Process -FilePath ([string]$params.restic.exe) -ArgumentList ([string]$Step.command_line) `
        -WorkingDirectory ([string]$Step.working_dir) -RedirectStandardOutput ([string]$Step.stdout) `
        -RedirectStandardError ([string]$Step.stderr) -NoNewWindow -PassThru
    $null = $proc.Handle  # keeps ExitCode readable after the process ends
    $lastProgress = [DateTime]::UtcNow
    while (-not $proc.HasExited) {
        if (Test-Cancel) {
            $status.cancelled = $true
            Write-Status -Phase 'cancelling'
            Stop-ProcessTree -ProcessId $proc.Id
            break
        }
        if ($Step.vm -and ([DateTime]::UtcNow - $lastProgress).TotalSeconds -ge [int]$params.progress_seconds) {
            try { $status.restic_progress = Get-ResticProgress -Step $Step } catch { $null = $_ }
            Write-Status
            $lastProgress = [DateTime]::UtcNow
        }
        Start-Sleep -Seconds 1
    }
    $proc.WaitForExit()
    $status.restic_exit_codes[[string]$Step.id] = $proc.ExitCode
    Write-Status
    if ($status.cancelled) { throw "cancelled while restic $($Step.kind) was running" }
}

$copyOk = $false
$before = $null
try {
    $restic = ($params.repository_type -eq 'restic')
    if ($restic) {
        Set-ResticEnvironment
        if ($params.restic.init) {
            Write-Status -Phase 'restic_init'
            Invoke-Restic -Step $params.restic.init
        }
        # read-only: the repository's format version and each VM's newest snapshot, for the controller
        Write-Status -Phase 'restic_probe'
        foreach ($step in @($params.restic.probe)) {
            Invoke-Restic -Step $step
        }
        Write-Status -Phase 'awaiting_restic_plan'
        $answer = Wait-SignedVerdict -Name ([string]$params.restic.plan_answer_file)
        if ($null -eq $answer) {
            if (Test-Cancel) { throw 'cancelled before the snapshot' }
            throw 'no answer from the controller about the restic backups; nothing was snapshotted'
        }
        $status.restic_plan = $answer.report
        if ($answer.decision -ne 'backup') { throw [string]$answer.error }
        # only the planned backup steps, with the parents the controller named
        $planned = @($params.restic.steps | ForEach-Object { [string]$_.id })
        $resticSteps = @($answer.steps)
        foreach ($step in $resticSteps) {
            if ($planned -notcontains [string]$step.id -or $step.kind -ne 'backup') {
                throw "the controller's restic plan names step '$($step.id)', which is not a planned backup"
            }
        }
        if ($resticSteps.Count -ne $planned.Count) {
            throw "the controller's restic plan has $($resticSteps.Count) backup steps, the job planned $($planned.Count)"
        }
    } else {
        Write-Status -Phase 'destination'
        # 1. destination, from the account the job runs as
        $null = [IO.Directory]::CreateDirectory([string]$params.generation_path)
        $listing = [ordered]@{ host_path = $params.host_path; account = $status.account; error = $null; generations = @() }
        try {
            $listing.generations = Get-GenerationList -HostFolder ([string]$params.host_path)
            $status.generations_listed = $true
        } catch {
            $listing.error = $_.Exception.Message
            $status.generations_error = $listing.error
        }
        [IO.File]::WriteAllText((Join-Path $jobDir 'generations.json'), ($listing | ConvertTo-Json -Depth 12 -Compress), $utf8)
        if (-not (Test-Space) -and $params.expire_when_short -and $status.generations_listed) {
            # The controller names what the policy already expires (never the newest verified generation);
            # nothing is deleted without its signed answer.
            Write-Status -Phase 'awaiting_space_verdict'
            $answer = Wait-SignedVerdict -Name 'space.json'
            if ($null -eq $answer) {
                if (Test-Cancel) { throw 'cancelled before the snapshot' }
                throw 'destination too small, and no answer from the controller about expiring generations; nothing deleted'
            }
            $status.space_verdict = [string]$answer.decision
            Write-Status -Phase 'making_space'
            if ($answer.decision -eq 'expire') {
                Remove-Generations -Paths @($answer.delete_generations) -Into 'expired_before_copy'
            }
            $null = Test-Space
        }
        if (-not (Test-Space)) {
            throw ('destination too small: {0} bytes free of {1} at {2}, {3} bytes to copy' -f
                $status.destination_free_bytes, $status.destination_total_bytes, $params.generation_path, $params.required_bytes)
        }
    }
    if (Test-Cancel) { throw 'cancelled before the snapshot' }

    # 2. snapshot and copy: diskshadow runs the rendered script, which EXECs the copy wrapper
    foreach ($folder in @($params.mount_folders)) {
        $null = [IO.Directory]::CreateDirectory([string]$folder)
    }
    $before = @(Get-CimInstance -ClassName Win32_ShadowCopy -ErrorAction SilentlyContinue | ForEach-Object { [string]$_.ID })
    Write-Status -Phase 'diskshadow'
    $status.diskshadow_started_at = [DateTime]::UtcNow.ToString('o')
    $proc = Start-Process -FilePath 'diskshadow.exe' -ArgumentList @('/s', ('"' + $params.script + '"')) `
        -WorkingDirectory $jobDir -RedirectStandardOutput $params.transcript `
        -RedirectStandardError (Join-Path $jobDir 'diskshadow.err') -NoNewWindow -PassThru
    $null = $proc.Handle  # keeps the process handle open so ExitCode is still readable after it ends
    $lastProgress = [DateTime]::MinValue
    while (-not $proc.HasExited) {
        if (Test-Cancel) {
            $status.cancelled = $true
            Write-Status -Phase 'cancelling'
            Stop-ProcessTree -ProcessId $proc.Id
            break
        }
        if (([DateTime]::UtcNow - $lastProgress).TotalSeconds -ge [int]$params.progress_seconds) {
            Update-Progress
            Write-Status
            $lastProgress = [DateTime]::UtcNow
        }
        Start-Sleep -Seconds 2
    }
    $proc.WaitForExit()
    $status.diskshadow_exit_code = $proc.ExitCode
    $status.diskshadow_finished_at = [DateTime]::UtcNow.ToString('o')
    if ($status.cancelled) { throw 'cancelled while diskshadow was running' }
    if ($restic) {
        # diskshadow has ended; its persistent shadows stay exposed on the mount folders until step 3
        foreach ($folder in @($params.mount_folders)) {
            if (([IO.File]::GetAttributes([string]$folder) -band [IO.FileAttributes]::ReparsePoint) -eq 0) {
                throw "diskshadow exposed no shadow copy on $folder; restic did not run"
            }
        }
        foreach ($step in $resticSteps) {
            if (Test-Cancel) { $status.cancelled = $true; throw 'cancelled between the restic backups' }
            Write-Status -Phase 'restic_backup'
            Invoke-Restic -Step $step
            # The parent was removed after the probe listed it: restic stops before it reads a file (no status
            # line on stdout). The same backup without --parent then runs once (the controller planned it).
            if ($step.retry_without_parent -and $status.restic_exit_codes[[string]$step.id] -eq 1 -and
                -not (Select-String -LiteralPath ([string]$step.stdout) -Pattern '"message_type":"status"' -SimpleMatch -Quiet)) {
                Invoke-Restic -Step $step.retry_without_parent
            }
        }
    }
    $copyOk = $true
} catch {
    if (Test-Cancel) { $status.cancelled = $true }
    $status.error = $_.Exception.Message
    $status.error_phase = $status.phase
} finally {
    # 3. always: this job's shadows and mount folders go, whatever happened above. Each part is
    #    guarded on its own so one failing cannot skip the others (or the lock release below).
    $status.phase = 'cleanup'
    try { Write-Status } catch { $null = $_ }
    try {
        Remove-JobShadows
    } catch {
        $status.shadow_delete_errors += [ordered]@{ id = $null; error = $_.Exception.Message; vssadmin = $null }
    }
    try {
        Remove-MountFolders
    } catch {
        $status.mount_folders_left += [ordered]@{ path = $null; error = $_.Exception.Message }
    }
    try {
        Update-Progress
        Write-Status
    } catch {
        $null = $_
    }
}

try {
    if (-not $status.cancelled -and $status.diskshadow_started_at -and $restic) {
        # 4. restic: the repository checked after the new snapshots, for the controller to verify
        if ($copyOk) {
            Write-Status -Phase 'restic_check'
            Invoke-Restic -Step $params.restic.check
        }
    }
    if (-not $status.cancelled -and $status.diskshadow_started_at) {
        # 4. what is at the destination now, for the controller to verify
        Write-Status -Phase 'listing'
        $files = New-Object System.Collections.Generic.List[object]
        $base = ([string]$params.generation_path).TrimEnd('\')
        if (-not $restic -and (Test-Path -LiteralPath $base -PathType Container)) {
            foreach ($f in @(Get-ChildItem -LiteralPath $base -Recurse -Force -File)) {
                $entry = [ordered]@{
                    path = $f.FullName.Substring($base.Length + 1)
                    size = $f.Length
                    modified = $f.LastWriteTimeUtc.ToString('o')
                }
                if ($params.hash -and -not (Test-Cancel)) {
                    $entry.sha256 = (Get-FileHash -LiteralPath $f.FullName -Algorithm SHA256).Hash.ToLowerInvariant()
                }
                $files.Add($entry)
            }
        }
        [IO.File]::WriteAllText((Join-Path $jobDir 'listing.json'), (ConvertTo-Json -InputObject @($files) -Depth 4 -Compress), $utf8)
        $status.listing_written = $true

        # 5. the controller verifies and answers with verdict.json
        Write-Status -Phase 'awaiting_verdict'
        $verdict = Wait-SignedVerdict -Name 'verdict.json'
        if ($null -ne $verdict) {
            Write-Status -Phase 'finalizing'
            $status.verdict = $verdict.decision
            if ($verdict.manifest_text) {
                $manifest = [string]$verdict.manifest_path
                if (-not (Test-PathUnder -Path $manifest -Folder $params.generation_path)) {
                    throw "manifest path $manifest is not inside $($params.generation_path)"
                }
                [IO.File]::WriteAllText($manifest + '.tmp', [string]$verdict.manifest_text, $utf8)
                if (Test-Path -LiteralPath $manifest) { Remove-Item -LiteralPath $manifest -Force }
                [IO.File]::Move($manifest + '.tmp', $manifest)
                $status.manifest_written = $true
            }
            Remove-Generations -Paths @($verdict.delete_generations) -Into 'expired_deleted'
            # restic: the controller names forget (and prune) steps only once the new snapshots are verified
            foreach ($step in @($verdict.restic_forget)) {
                if ($null -eq $step -or (Test-Cancel)) { continue }
                Write-Status -Phase 'restic_forget'
                Invoke-Restic -Step $step
            }
            if ($verdict.restic_prune -and -not (Test-Cancel)) {
                Write-Status -Phase 'restic_prune'
                Invoke-Restic -Step $verdict.restic_prune
            }
        } elseif (Test-Cancel) {
            $status.cancelled = $true
        } else {
            $status.verdict = 'timed_out'
        }
    } elseif (-not $status.diskshadow_started_at -and -not $restic) {
        # Stopped before the snapshot: leave no empty generation folder behind (only removed if empty).
        try { [IO.Directory]::Delete([string]$params.generation_path, $false) } catch { $null = $_ }
    }
} catch {
    if (-not $status.error) {
        $status.error = $_.Exception.Message
        $status.error_phase = $status.phase
    }
} finally {
    # 6. the restic secrets go, then the lock is released, but only our own
    if ($params.repository_type -eq 'restic') {
        foreach ($secret in @([string]$params.restic.password_file, [string]$params.restic.environment_file)) {
            try {
                if (Test-Path -LiteralPath $secret) { Remove-Item -LiteralPath $secret -Force }
            } catch {
                if (-not $status.error) { $status.error = "removing ${secret}: " + $_.Exception.Message }
            }
        }
    }
    try {
        $null = Remove-LockOf -LockPath $lockPath -JobId ([string]$params.job_id)
    } catch {
        if (-not $status.error) { $status.error = 'releasing the lock: ' + $_.Exception.Message }
    }
    if ($status.cancelled) {
        $status.outcome = 'cancelled'
    } elseif ($status.error -or -not $copyOk) {
        $status.outcome = 'failed'
    } else {
        $status.outcome = 'finished'
    }
    $status.finished_at = [DateTime]::UtcNow.ToString('o')
    Write-Status -Phase 'done'
}
