# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Shared functions of the win_vss_backup payloads and the job runner. Not a payload: the controller
# splices this text into each payload in place of the payload's include line for vss_common (right
# after its param() block), see plugins/plugin_utils/_payload.py. Functions only: nothing here runs on
# its own, and every value comes in as an argument.

function Invoke-Tool {
    # Runs a console tool. Its stderr lines become text, never error records, which the 'Stop'
    # preference (and win_powershell) would otherwise turn into a failure of the whole script.
    param([string]$FilePath, [string[]]$Arguments)
    $ErrorActionPreference = 'Continue'
    $lines = @(& $FilePath @Arguments 2>&1 | ForEach-Object { [string]$_ })
    return [pscustomobject]@{ exit_code = $LASTEXITCODE; output = ($lines -join "`r`n").Trim() }
}

function Assert-JobId {
    # A job id as the controller makes them (it also names the job folder and the scheduled task).
    param([string]$JobId)
    if ($JobId -notmatch '^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$') {
        throw "invalid job id '$JobId': expected <yyyyMMddTHHmmssZ>-<8 hex digits>"
    }
}

function Get-VawarePaths {
    # Where the collection keeps its state on the host: %ProgramData%\vaware.hyperv with the backup lock
    # and the jobs folder, and the scheduled-task folder. With -JobId (checked first) also that job's
    # folder and scheduled-task name.
    param([string]$JobId = '')
    $root = Join-Path $env:ProgramData 'vaware.hyperv'
    $paths = [ordered]@{
        root = $root
        jobs_root = (Join-Path $root 'jobs')
        lock_path = (Join-Path $root 'backup.lock')
        task_path = '\vaware.hyperv\'
        job_dir = $null
        task_name = $null
    }
    if ($JobId) {
        Assert-JobId -JobId $JobId
        $paths.job_dir = Join-Path $paths.jobs_root $JobId
        $paths.task_name = 'backup-' + $JobId
    }
    return [pscustomobject]$paths
}

function Initialize-VawareRoot {
    # The state root is where the SYSTEM runner reads its script, verdict and lock. Only SYSTEM and
    # Administrators may write there: it is created with a protected ACL (inheritance from ProgramData,
    # which lets Users create files, is cut), and an existing root owned by anyone else or writable by
    # anyone else is refused before anything is written into it.
    param([Parameter(Mandatory)][string]$Root)
    $trusted = @('S-1-5-18', 'S-1-5-32-544')
    $system = New-Object System.Security.Principal.SecurityIdentifier('S-1-5-18')
    $admins = New-Object System.Security.Principal.SecurityIdentifier('S-1-5-32-544')
    $acl = New-Object System.Security.AccessControl.DirectorySecurity
    $acl.SetAccessRuleProtection($true, $false)
    $acl.SetOwner($admins)
    foreach ($sid in @($system, $admins)) {
        $rule = New-Object System.Security.AccessControl.FileSystemAccessRule($sid, 'FullControl', 'ContainerInherit, ObjectInherit', 'None', 'Allow')
        $acl.AddAccessRule($rule)
    }
    if (-not (Test-Path -LiteralPath $Root)) {
        $null = New-Item -ItemType Directory -Path $Root
        Set-Acl -LiteralPath $Root -AclObject $acl
    }
    $item = Get-Item -LiteralPath $Root -Force
    if (-not $item.PSIsContainer -or ($item.Attributes -band [IO.FileAttributes]::ReparsePoint)) {
        throw "$Root is not a plain folder (a file, link or junction): refusing to use it; remove it so it is created again"
    }
    $current = Get-Acl -LiteralPath $Root
    $owner = $current.GetOwner([System.Security.Principal.SecurityIdentifier]).Value
    if ($trusted -notcontains $owner) {
        throw "$Root is owned by $owner, not by SYSTEM or Administrators: refusing to run a job from it; remove it so it is created again"
    }
    if (-not $current.AreAccessRulesProtected) {
        # A root an earlier version created (owned by SYSTEM or Administrators) with inherited
        # permissions: replace them with the protected ACL, which its subfolders then inherit.
        Set-Acl -LiteralPath $Root -AclObject $acl
        $current = Get-Acl -LiteralPath $Root
        if (-not $current.AreAccessRulesProtected) {
            throw "$Root inherits its permissions from its parent and they could not be replaced: refusing to run a job from it"
        }
    }
    $writeRights = [System.Security.AccessControl.FileSystemRights]'Write, Delete, DeleteSubdirectoriesAndFiles, ChangePermissions, TakeOwnership'
    foreach ($rule in @($current.GetAccessRules($true, $true, [System.Security.Principal.SecurityIdentifier]))) {
        if ($rule.AccessControlType -ne 'Allow' -or $trusted -contains $rule.IdentityReference.Value) { continue }
        if (($rule.FileSystemRights -band $writeRights) -ne 0) {
            throw "$Root lets $($rule.IdentityReference.Value) write ($($rule.FileSystemRights)): refusing to run a job from it; remove it so it is created again"
        }
    }
}

function Get-VerdictMac {
    # The job's signature of a verdict: HMAC-SHA256 with the job's key (job.key, 32 random bytes the
    # start payload made on this host; only SYSTEM and Administrators can read the job folder) over
    # "<job id>`n<verdict text>", as lowercase hex. A verdict signed for another job does not match.
    param([Parameter(Mandatory)][byte[]]$Key, [Parameter(Mandatory)][string]$JobId, [string]$Text = '')
    $hmac = New-Object System.Security.Cryptography.HMACSHA256(, $Key)
    try {
        $bytes = (New-Object Text.UTF8Encoding($false)).GetBytes($JobId + "`n" + $Text)
        return (($hmac.ComputeHash($bytes) | ForEach-Object { $_.ToString('x2') }) -join '')
    } finally {
        $hmac.Dispose()
    }
}

function Write-FileAtomically {
    # Writes $Text (UTF-8, no BOM) to $Path through $Path.tmp and a replace, so a reader sees the old file or the new
    # one, never half of one. A reader holding the file at that moment makes the replace fail: try again briefly.
    param([string]$Path, [string]$Text)
    $tmp = $Path + '.tmp'
    [IO.File]::WriteAllText($tmp, $Text, (New-Object Text.UTF8Encoding($false)))
    for ($attempt = 1; $attempt -le 20; $attempt++) {
        try {
            if (Test-Path -LiteralPath $Path) {
                [IO.File]::Replace($tmp, $Path, $null)
            } else {
                [IO.File]::Move($tmp, $Path)
            }
            return
        } catch {
            if ($attempt -eq 20) { throw }
            Start-Sleep -Milliseconds 250
        }
    }
}

function Read-JsonFile {
    # The JSON content of a file; $null when there is no such file. A read that fails (e.g. racing the
    # runner replacing the file) is tried again -Retries times after 200 ms; a file still unreadable
    # gives @{ unreadable = <reason> }, or throws with -ThrowIfUnreadable.
    param([string]$Path, [int]$Retries = 0, [switch]$ThrowIfUnreadable)
    if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) { return $null }
    $attempt = 0
    while ($true) {
        try {
            return [IO.File]::ReadAllText($Path) | ConvertFrom-Json
        } catch {
            if ($attempt -lt $Retries) {
                $attempt++
                Start-Sleep -Milliseconds 200
                continue
            }
            if ($ThrowIfUnreadable) { throw "cannot read ${Path}: $($_.Exception.Message)" }
            return @{ unreadable = $_.Exception.Message }
        }
    }
}

function Get-GenerationList {
    # The generation folders of this host (<destination>\<computer name>\<generation>) with their
    # manifests, as the calling account sees them; throws when the folder exists but cannot be listed.
    # Which of them are generations of this collection, and which expire, is decided on the controller.
    param([string]$HostFolder)
    $gens = @()
    if (-not (Test-Path -LiteralPath $HostFolder -PathType Container)) { return , $gens }
    foreach ($dir in @(Get-ChildItem -LiteralPath $HostFolder -Directory -ErrorAction Stop)) {
        $gens += [ordered]@{
            name = $dir.Name
            path = $dir.FullName
            created = $dir.CreationTimeUtc.ToString('o')
            manifest = Read-JsonFile -Path (Join-Path $dir.FullName 'manifest.json')
        }
    }
    return , $gens
}

function Test-RunnerAlive {
    # The runner records its PID and start time (status.json); both must match so a reused PID is not
    # mistaken for it.
    param($Status)
    if ($null -eq $Status -or -not $Status.pid) { return $false }
    $proc = Get-Process -Id ([int]$Status.pid) -ErrorAction SilentlyContinue
    if ($null -eq $proc) { return $false }
    try {
        $delta = $proc.StartTime.ToUniversalTime().Ticks - [long]$Status.pid_started_ticks
        return ([Math]::Abs($delta) -lt 10000000)
    } catch {
        return $false
    }
}

function Get-ShadowCopyList {
    # Every shadow copy on the host, raw (the controller picks out ours by id, set id or mount folder).
    # Callers wrap the call in @() so that one shadow still makes a list.
    $shadows = @()
    foreach ($s in @(Get-CimInstance -ClassName Win32_ShadowCopy -ErrorAction SilentlyContinue)) {
        $shadows += [ordered]@{
            id = $s.ID
            set_id = $s.SetID
            volume_name = $s.VolumeName
            device_object = $s.DeviceObject
            exposed_name = $s.ExposedName
            persistent = $s.Persistent
            install_date = if ($s.InstallDate) { $s.InstallDate.ToUniversalTime().ToString('o') } else { $null }
        }
    }
    return $shadows
}

function Test-PathUnder {
    # True when -Path lies strictly inside -Folder (case-insensitive, either slash). A path with a '..'
    # part is never inside anything.
    param([string]$Path, [string]$Folder)
    if (-not $Path -or -not $Folder) { return $false }
    $p = $Path.Replace('/', '\').TrimEnd('\').ToLowerInvariant()
    $f = $Folder.Replace('/', '\').TrimEnd('\').ToLowerInvariant()
    return $p.StartsWith($f + '\') -and -not ($p + '\').Contains('\..')
}

function Remove-ShadowCopiesById {
    # Deletes exactly the shadow copies named by -Ids, each by its own id, and nothing else (never all
    # shadows, never a set). Each id must parse as a GUID. The shadow is deleted through WMI
    # (Win32_ShadowCopy); if that fails, with `vssadmin delete shadows /shadow={id} /quiet`.
    # Returns @{ deleted; missing (no such shadow); errors } with ids as '{lower-case guid}'.
    param([string[]]$Ids)
    $outcome = [ordered]@{ deleted = @(); missing = @(); errors = @() }
    $listError = $null
    $existing = @()
    if (@($Ids).Count -gt 0) {
        try {
            $existing = @(Get-CimInstance -ClassName Win32_ShadowCopy -ErrorAction Stop)
        } catch {
            $listError = 'cannot list the shadow copies: ' + $_.Exception.Message
        }
    }
    foreach ($id in @($Ids)) {
        $parsed = [guid]::Empty
        if (-not [guid]::TryParse(([string]$id).Trim().Trim('{}'), [ref]$parsed)) {
            $outcome.errors += [ordered]@{ id = $id; error = 'not a shadow copy id'; vssadmin = $null }
            continue
        }
        $braced = '{' + $parsed.ToString() + '}'
        if ($outcome.deleted -contains $braced -or $outcome.missing -contains $braced) { continue }
        if ($listError) {
            # Unknown whether it still exists: never reported as gone.
            $outcome.errors += [ordered]@{ id = $braced; error = $listError; vssadmin = $null }
            continue
        }
        $shadow = $existing | Where-Object { ([string]$_.ID).ToLowerInvariant() -eq $braced } | Select-Object -First 1
        if (-not $shadow) {
            $outcome.missing += $braced
            continue
        }
        try {
            Remove-CimInstance -InputObject $shadow -ErrorAction Stop
            $outcome.deleted += $braced
        } catch {
            $cimError = $_.Exception.Message
            $tool = Invoke-Tool -FilePath 'vssadmin.exe' -Arguments @('delete', 'shadows', "/shadow=$braced", '/quiet')
            if ($tool.exit_code -eq 0) {
                $outcome.deleted += $braced
            } else {
                $outcome.errors += [ordered]@{ id = $braced; error = $cimError; vssadmin = $tool.output }
            }
        }
    }
    return $outcome
}

function Remove-MountFolder {
    # A mount folder of a job: unmounted if a volume is still mounted on it, then removed, but only when
    # it lies inside -Within and is empty (never recursive: a mounted shadow is a whole volume).
    # Returns $true when it was removed, $false when it did not exist; throws otherwise.
    param([string]$Path, [string]$Within)
    if (-not (Test-PathUnder -Path $Path -Folder $Within)) {
        throw "not inside $Within"
    }
    if (-not (Test-Path -LiteralPath $Path)) { return $false }
    $item = Get-Item -LiteralPath $Path -Force
    if ($item.Attributes -band [IO.FileAttributes]::ReparsePoint) {
        # The path is an argument, never script text.
        $null = Invoke-Tool -FilePath 'mountvol.exe' -Arguments @(($Path.TrimEnd('\') + '\'), '/D')
    }
    [IO.Directory]::Delete($Path, $false)
    return $true
}

function Remove-LockOf {
    # Removes the backup lock only while it names -JobId. Returns $true when removed, $false when there
    # is no lock or it names another job; throws when the lock cannot be read (it is then left alone).
    param([string]$LockPath, [string]$JobId)
    if (-not $JobId) { return $false }
    $lock = Read-JsonFile -Path $LockPath -ThrowIfUnreadable
    if ($null -eq $lock -or $lock.job_id -ne $JobId) { return $false }
    Remove-Item -LiteralPath $LockPath -Force
    return $true
}

function Get-DiskSpace {
    # Free space for this account and total size of the volume holding the existing folder -Path
    # (works for a share too). Throws with the Win32 error when Windows cannot tell.
    param([string]$Path)
    if (-not ('VawareHyperV.DiskSpace' -as [type])) {
        Add-Type -Namespace VawareHyperV -Name DiskSpace -MemberDefinition @'
[DllImport("kernel32.dll", SetLastError = true, CharSet = CharSet.Unicode)]
public static extern bool GetDiskFreeSpaceEx(string directory, out ulong freeForCaller, out ulong total, out ulong totalFree);
'@
    }
    $free = [UInt64]0
    $total = [UInt64]0
    $totalFree = [UInt64]0
    if (-not [VawareHyperV.DiskSpace]::GetDiskFreeSpaceEx($Path, [ref]$free, [ref]$total, [ref]$totalFree)) {
        throw "cannot read the free space of $Path (Win32 error $([Runtime.InteropServices.Marshal]::GetLastWin32Error()))"
    }
    return [pscustomobject]@{ free_bytes = $free; total_bytes = $total }
}

function Get-RegisteredVms {
    # The VMs registered on this host (name, id, state, folder, notes) for the restore modules, and whether
    # Hyper-V could be asked: @{ hyperv = $true|$false; hyperv_error = $null|text; vms = @(...) }.
    $answer = @{ hyperv = $false; hyperv_error = $null; vms = @() }
    if (-not (Get-Command -Name Get-VM -Module Hyper-V -ErrorAction SilentlyContinue)) {
        $answer.hyperv_error = 'the Hyper-V PowerShell module is not installed'
        return $answer
    }
    try {
        $answer.vms = @(Hyper-V\Get-VM | ForEach-Object -Process {
                [ordered]@{
                    name = $_.Name
                    id = $_.Id.ToString()
                    state = $_.State.ToString()
                    path = $_.ConfigurationLocation
                    notes = $_.Notes
                }
            })
        $answer.hyperv = $true
    } catch {
        $answer.hyperv_error = $_.Exception.Message
    }
    return $answer
}

function New-RunnerStatus {
    # The status.json of a detached job's runner at its start: running, with this process's id and start time
    # (Test-RunnerAlive tells a reused PID from it), the result and error still empty.
    $self = Get-Process -Id $PID
    return [ordered]@{
        state = 'running'
        pid = $PID
        pid_started_ticks = [long]$self.StartTime.ToUniversalTime().Ticks
        started_at = [DateTime]::UtcNow.ToString('o')
        finished_at = $null
        result = $null
        error = $null
    }
}

function Add-RegisteredVms {
    # Get-RegisteredVms into the payload's -Result: its vms, hyperv and hyperv_error entries.
    param([Parameter(Mandatory)]$Result)
    $registered = Get-RegisteredVms
    foreach ($key in @('vms', 'hyperv', 'hyperv_error')) { $Result[$key] = $registered[$key] }
}
