#!/usr/bin/python
# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the module; the code is the action plugin plugins/action/win_vss_backup.py.

DOCUMENTATION = r"""
module: win_vss_backup
short_description: Application-consistent VSS backup of a Hyper-V host, run as a detached job
version_added: 0.1.0
description:
  - Backs up the Hyper-V virtual machines (and optionally extra folders) of a Windows host with a VSS
    shadow copy of every volume that holds their files, including volumes that have no drive letter, and
    copies them with C(robocopy) to a new generation folder C(<destination>\<host>\<generation>).
  - The backup runs on the host as a one-shot scheduled task (as C(SYSTEM) or O(run_as)), not inside the
    WinRM session, so a backup of many hours survives WinRM timeouts and dropped connections. The module
    starts it, polls it every O(poll_interval) seconds (progress is shown with C(-v)), and when the copy
    is over collects the job's output, verifies the copy, writes C(manifest.json) into the generation and
    only then deletes generations that O(retention) expires.
  - By default the snapshot is a VSS copy backup (O(backup_type=copy)), which leaves other backup products'
    log chains alone, and requires the Microsoft Hyper-V VSS Writer so the copies are
    application-consistent (O(require_hyperv_writer)).
  - Safe to re-run. A run that finds a backup job of this module running on the host attaches to it
    instead of starting a second one; O(job_id) attaches to a given job; O(state=absent) cancels the
    running job. A lock left by a job that died (crash, reboot) is detected and cleared, and shadow copies
    and mount folders left by such a job are deleted by id when O(cleanup_stale=true).
  - The job always deletes exactly its own shadow copies, by id, and removes its mount folders, whether it
    succeeded, failed or was cancelled. It never deletes other shadow copies (Previous Versions, other
    backup products).
  - All decisions (plan, parsing, verification, retention, messages) are made on the controller; the host
    runs small PowerShell scripts through M(ansible.windows.win_powershell) that receive every value as a
    parameter. The number of calls to the host does not depend on the number of VMs.
options:
  destination:
    description:
      - Folder that receives the backups, a local path such as V(E:\\Backups) or a UNC path such as
        V(\\\\nas\\hyperv-backups). Each host writes to C(<destination>\<computer name>\<generation>).
      - The account the job runs as (C(SYSTEM), that is the host's computer account on a share, or O(run_as))
        needs write access. The job checks that it can write there and that enough space is free before it
        snapshots anything.
      - Required unless O(job_id) is given, O(state=absent) or O(repository.type=restic) (then not allowed).
    type: str
  repository:
    description:
      - Where the VMs go. V(files) (the default) copies them with C(robocopy) into generation folders below
        O(destination), as described above. V(restic) backs them up from the same application-consistent
        shadow copies into a restic repository instead, which stores only the chunks it has not seen
        (deduplicated, compressed, encrypted), so a night costs what changed, not the size of the VMs.
      - With restic the job makes one snapshot per VM (C(restic backup --json) over the exposed shadow
        folder, tagged C(vaware.hyperv), C(vm-id:<VM id>), C(vm:<VM name>), C(files:<count>), one
        C(dir:<folder in the snapshot>=<folder on the host>) per folder of the VM's files (what
        M(vaware.hyperv.win_vm_restore) needs to restore it) and O(repository.tags)), then runs
        C(restic check). Only when every snapshot was made and the check found no error does it run
        C(restic forget --json) per VM with O(retention) (keep_last, keep_daily, keep_weekly, keep_monthly
        mapped 1:1 to C(--keep-*); never C(--prune)), and C(restic prune) on O(repository.prune_weekdays).
      - Before any shadow copy the job reads, without a lock, the repository's format version
        (C(restic cat config)) and this host's newest snapshot of each VM (C(restic snapshots)). Each VM's
        backup names that snapshot as C(--parent), so restic reads only files whose size or time changed
        although each job exposes its shadows on a new folder; a VM without a snapshot has no parent, and a
        parent removed from the repository while the job ran is backed up once more without it.
        O(repository.compression=max) on a repository of format version 1 fails there, before the snapshot.
      - Each of O(extra_paths) is its own snapshot from the same shadow copies, tagged C(vaware.hyperv),
        C(extra), C(extra-path:<path in lower case>) and O(repository.tags), with its own parent and its own
        C(restic forget) group (C(--tag extra-path:<path>)).
      - The password and O(repository.environment) go to the host only as sensitive parameters; the job
        writes them into its folder readable only by the job account, restic reads them from there
        (C(RESTIC_PASSWORD_FILE)), and the job deletes them when it ends. They are never on a command line.
      - restic needs O(backup_type=copy); O(verify) does not apply (restic checks its own data).
    type: dict
  vms:
    description:
      - Names or shell globs of the VMs to back up, case-insensitive. Each entry must match at least one VM.
      - When not given, every VM on the host is backed up. V([]) backs up no VM (use with O(extra_paths)).
    type: list
    elements: str
  exclude_vms:
    description:
      - Names or globs of VMs to leave out, applied after O(vms).
      - A VM left out that has files on a volume the snapshot takes anyway (because a VM that is backed up lives
        there too) is also left out of the Microsoft Hyper-V VSS Writer (diskshadow C(WRITER EXCLUDE) of its
        component, the VM id), so the snapshot does not quiesce it or put it into a saved state. A VM left out
        without a usable id is named in a warning.
    type: list
    elements: str
    default: []
  extra_paths:
    description:
      - Folders that are not VM files to copy from the same snapshot, for example V(D:\\Scripts). They are
        copied with their subfolders to C(<generation>\_extra_paths\<volume>\...); with a restic repository
        each is its own snapshot (see O(repository)).
    type: list
    elements: str
    default: []
  run_as:
    description:
      - Account the backup job runs as, for example V(CORP\\svc-hyperv-backup), when C(SYSTEM) (the computer
        account) cannot write to the destination. Needs local administrator rights on the host.
      - Requires O(run_as_password).
    type: str
  run_as_password:
    description:
      - Password of O(run_as). Sent to the host only as a secure parameter; never logged or returned.
    type: str
  backup_type:
    description:
      - V(copy) makes a VSS copy backup (no C(BEGIN BACKUP)); application writers do not consider it a full
        backup and truncate no logs, so another backup product's chain is not disturbed.
      - V(full) makes a full VSS backup (C(BEGIN BACKUP)/C(END BACKUP)); writers may truncate their logs after
        it. Use it only when this is the only backup of the VMs' applications.
    type: str
    choices: [copy, full]
    default: copy
  require_hyperv_writer:
    description:
      - Fail when the Microsoft Hyper-V VSS Writer is not stable before the backup, or is excluded from the
        snapshot, instead of silently making crash-consistent copies.
    type: bool
    default: true
  retention:
    description:
      - Which complete generations to keep; the others are deleted after the new generation was verified and
        its manifest written. Without it (or with all values 0) nothing is deleted.
      - The newest complete generation is never deleted; incomplete generations (no manifest, or a manifest
        that is not C(complete)) never count as kept and are deleted only once a newer complete one exists.
      - Retention decides from the generations the job itself lists at the destination, as the account it runs as
        (SYSTEM or O(run_as)), not from what the remote session can see (a share is often unreadable from the
        WinRM session without credential delegation). When the job cannot list them, nothing is expired and the
        result (and the fleet report) carries a warning that retention did not run, and RV(retention_skipped) is true.
    type: dict
    suboptions:
      keep_last:
        description: Keep the N newest complete generations.
        type: int
      keep_daily:
        description: Keep the newest complete generation of each of the last N days that have one.
        type: int
      keep_weekly:
        description: Keep the newest complete generation of each of the last N ISO weeks that have one.
        type: int
      keep_monthly:
        description: Keep the newest complete generation of each of the last N months that have one.
        type: int
  expire_before_copy_when_short:
    description:
      - What to do when the destination has less free space than this backup needs.
      - V(false) (the default) fails before the snapshot and deletes nothing. The error shows the arithmetic (free,
        total, needed, missing) and what O(retention) would expire counting this backup.
      - V(true) first deletes the generations that O(retention) would delete anyway once this backup is complete
        (this backup counted as the newest), but only when deleting them frees enough by the sizes their manifests
        record; otherwise it fails as with V(false) and deletes nothing. The newest complete generation already
        there is never deleted, so if this backup then fails, the last good generation is still there. The job
        asks the controller, which names the generations; the job acts only on that signed answer and checks the
        free space again before the snapshot.
      - This is the only case where a generation is deleted before the new one is verified. Without O(retention),
        nothing can be expired and the option changes nothing. See RV(expired_before_copy).
    type: bool
    default: false
  verify:
    description:
      - V(size) checks that no robocopy run failed, that every planned file is at the destination, and that
        each VM file's size at the destination equals its size in the shadow copy. The copy wrapper reads
        those sizes in the exposed shadow copy itself (not from robocopy's summary, whose totals may count
        files a C(/MIN) or C(/MAX) pass left out); a size it could not read fails the VM naming the file.
      - V(hash) also proves that each VM file at the destination is identical to the same file in the shadow
        copy, the frozen source (equal SHA-256). While the shadow copy is exposed, the copy wrapper computes
        the SHA-256 of every planned VM file in it (C(certutil -hashfile)); after the copy the job computes the
        SHA-256 of every copied file at the destination. A VM whose two digests differ for any file, or whose
        source digest could not be computed, fails verification naming the VM and the file; the generation is
        then not complete and retention deletes nothing. The manifest records each verified SHA-256, so a later restore
        can check the copy.
      - V(hash) costs time. Every source byte is read twice (by robocopy and by certutil, so the shadow copy is
        held longer and grows with the VMs' writes meanwhile) and every copied byte is read back once from the
        destination (over the network for a share).
      - With V(hash), certutil reads the source without the backup privilege robocopy uses (C(/B)), so a VM
        file the job's account cannot open fails verification with certutil's message.
      - Extra paths are not hashed (the plan copies their folder trees without listing them); with any
        O(verify) they are checked by robocopy's exit codes only.
      - V(none) only checks robocopy's exit codes and that the files exist. Retention still expires older
        generations after such a run, with a warning naming the generations kept that were verified this way.
    type: str
    choices: [size, hash, none]
    default: size
  copy_threads:
    description:
      - robocopy C(/MT:n), 1 to 128.
    type: int
    default: 8
  unbuffered_min_size:
    description:
      - Files of at least this many bytes (virtual disks) are copied with unbuffered I/O (robocopy C(/J)),
        which is faster for large files and does not flush the host's file cache. V(0) uses it for every file.
    type: int
    default: 1073741824
  timeout:
    description:
      - Seconds this task waits for the job. When it runs out the task fails, but the job keeps running on
        the host; re-run the task to attach to it, or cancel it with O(state=absent).
    type: int
    default: 86400
  poll_interval:
    description:
      - Seconds between two status calls to the host. A failed status call (connection lost, WinRM timeout)
        is retried with doubling waits (at most 5 minutes) until O(timeout).
    type: int
    default: 30
  cleanup_stale:
    description:
      - Delete shadow copies and mount folders left behind by an earlier job of this module that crashed
        (found through its job folder and transcript, deleted one by one by id). With V(false) they are only
        reported as warnings.
    type: bool
    default: true
  keep_failed_job:
    description:
      - Keep the job folder (C(%ProgramData%\vaware.hyperv\jobs\<job id>), with the diskshadow transcript,
        robocopy log and scripts) when the backup failed, for troubleshooting. The scheduled task is removed
        either way.
    type: bool
    default: false
  job_id:
    description:
      - Attach to this job (as returned in RV(job_id)) instead of starting a backup; with O(state=absent),
        cancel this job.
    type: str
  state:
    description:
      - V(present) runs a backup (or attaches to the running one).
      - V(absent) cancels the running backup job of this module on the host; its shadow copies and mount
        folders are still cleaned up. Nothing happens when no job runs.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - action_common_attributes
  - action_common_attributes.flow
  - vaware.hyperv.windows_payload
  - vaware.hyperv.restic_repository
attributes:
  check_mode:
    support: full
    details: Runs the read-only preflight, builds the plan and returns it (RV(plan)) with C(changed=true) when
      a backup would run; nothing is written on the host.
  diff_mode:
    support: none
notes:
  - Requires M(ansible.windows.win_powershell), Windows PowerShell 5.1, C(diskshadow.exe) and C(robocopy.exe)
    on the host, and an administrator connection (elevated).
  - Security products may flag C(diskshadow /s) and the deletion of shadow copies, which ransomware also
    does. The job only deletes its own shadow copies by id, never all of them; allow the job's folder
    C(%ProgramData%\vaware.hyperv\jobs) in such products if they block it.
  - Writer states are read in the preflight with C(vssadmin list writers) (diskshadow misbehaves in the
    WinRM network logon); diskshadow only runs inside the job's scheduled task.
  - With O(run_as) and O(verify=hash), C(certutil) reads the sources without backup semantics, so hashing a
    VM file the account cannot open is denied and fails verification.
  - A Group Policy execution policy (for example C(MachinePolicy) C(AllSigned)) overrides the
    C(-ExecutionPolicy Bypass) the job's task uses; the unsigned runner then does not start.
  - "VM names become folder names at the destination; a VM whose name Windows cannot use as a folder name
    (one with C(\\ / : * ? < > |) or a double quote) must be excluded or renamed."
seealso:
  - module: vaware.hyperv.win_volume_guid_facts
  - module: ansible.windows.win_powershell
author:
  - vaware.hyperv maintainers (@vaware)
"""

EXAMPLES = r"""
- name: Back up every VM into a restic repository on a share, keep 14 days and 8 weeks, check 1/7 of the data
  vaware.hyperv.win_vss_backup:
    repository:
      type: restic
      location: \\nas01\restic\hyperv
      password: "{{ vault_restic_password }}"
      check_read_data_subset: 1/7
      prune_weekdays: [sunday]
    retention:
      keep_daily: 14
      keep_weekly: 8
  register: nightly_restic

- name: Nightly backup of every VM to the NAS, keep 7 daily and 4 weekly generations
  vaware.hyperv.win_vss_backup:
    destination: \\nas01\hyperv-backups
    retention:
      keep_daily: 7
      keep_weekly: 4
    timeout: 28800
  register: nightly
  ignore_errors: true  # a timeout leaves the job running on the host; the task below attaches to it

- name: Back up two VMs to a local disk, verify with SHA-256, run as a service account
  vaware.hyperv.win_vss_backup:
    destination: E:\Backups
    vms: [web01, "db*"]
    exclude_vms: [db-test]
    verify: hash
    run_as: CORP\svc-hyperv-backup
    run_as_password: "{{ vault_hyperv_backup_password }}"

- name: Show what would be backed up (check mode returns the plan)
  vaware.hyperv.win_vss_backup:
    destination: E:\Backups
  check_mode: true
  register: backup_plan

- name: Wait again for the nightly job when the first task timed out while it was still running
  vaware.hyperv.win_vss_backup:
    job_id: "{{ nightly.job_id }}"
  when: nightly is failed and nightly.job_id is defined

- name: Cancel the running backup job
  vaware.hyperv.win_vss_backup:
    state: absent
"""

RETURN = r"""
job_id:
  description: Id of the backup job on the host (also the name of its job folder and scheduled task).
  returned: when a job was planned, started, attached to or cancelled
  type: str
  sample: 20261125T020000Z-1a2b3c4d
generation:
  description: Id of the generation folder, the UTC start time; sorts by time.
  returned: when a job was planned or run
  type: str
  sample: 20261125T020000Z
generation_status:
  description: C(complete), C(partial) or C(failed), as recorded in the manifest.
  returned: when a job ran to its end
  type: str
  sample: complete
destination_path:
  description: Folder of the new generation.
  returned: when a job was planned or run
  type: str
  sample: \\nas01\hyperv-backups\HV01\20261125T020000Z
manifest_path:
  description: Path of the generation's C(manifest.json) (its JSON Schema is C(docs/manifest.schema.json)).
  returned: when a job was planned or run
  type: str
  sample: \\nas01\hyperv-backups\HV01\20261125T020000Z\manifest.json
manifest_written:
  description: Whether the job wrote the manifest.
  returned: when a job ran to its end
  type: bool
vms:
  description: One entry per VM of the job.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: VM name.
      type: str
    status:
      description: C(complete) or C(failed).
      type: str
    bytes:
      description: Bytes at the destination.
      type: int
    files:
      description: Number of files at the destination.
      type: int
    seconds:
      description: Copy time as robocopy measured it, or null.
      type: float
    mb_per_s:
      description: Throughput in MB/s (10^6 bytes per second), or null.
      type: float
    errors:
      description: Why the VM failed (missing file, robocopy failure, size mismatch; with restic the named
        failure, for example a wrong password or a locked repository with the lock's holder).
      type: list
      elements: str
    snapshot_id:
      description: restic only. The id of the VM's new snapshot (as restic printed it), or null.
      type: str
    bytes_processed:
      description: restic only. Bytes restic read from the shadow copy (also in C(bytes)).
      type: int
    bytes_added:
      description: restic only. Bytes the snapshot added to the repository (new chunks, before compression).
      type: int
    dedup_ratio:
      description: restic only. C(bytes_processed / bytes_added), or null when nothing was added.
      type: float
    failure_kind:
      description: restic only. V(wrong_password), V(locked), V(no_repository), V(damaged), V(incomplete),
        V(interrupted) or V(failed) when the VM failed, else null.
      type: str
    parent:
      description: restic only. The id of the snapshot restic compared the VM's files with (C(--parent)), or
        null when it had none and read every file.
      type: str
    files_unmodified:
      description: restic only. Files found unchanged against the parent (restic did not read them again).
      type: int
repository:
  description: With O(repository.type=restic), the repository without secrets (location with any URL
    credentials left out, tags, options, the names of the environment variables, check and prune settings).
  returned: when a restic repository was used
  type: dict
restic:
  description: With O(repository.type=restic), what restic did after the snapshot.
  returned: when a restic job ran
  type: dict
  contains:
    snapshots:
      description: New snapshot id per VM name.
      type: dict
    parents:
      description: Per VM name the parent snapshot id its backup named, or null.
      type: dict
    repository_version:
      description: The repository's format version (1 or 2) as the job read it before the snapshot, or null.
      type: int
    extra_paths:
      description: Per extra path its snapshot - C(path), C(status), C(snapshot_id), C(parent), C(files),
        C(files_unmodified), C(bytes_processed), C(bytes_added), C(errors), C(failure_kind).
      type: list
      elements: dict
    check:
      description: The C(restic check) after the backups - C(ok), C(exit_code), C(read_data) (what restic read,
        for example C(1/7 of data packs)), C(read_data_subset), C(errors), C(failure).
      type: dict
    verified:
      description: True when every VM's snapshot was made and C(restic check) found no error; retention runs
        only then.
      type: bool
    forget:
      description: Per VM (C(vm)) and per extra path (C(extra_path)) the snapshot ids C(restic forget) kept and
        removed.
      type: list
      elements: dict
    prune:
      description: Whether C(restic prune) ran (C(ran), C(exit_code)), or null.
      type: dict
    init:
      description: With O(repository.init), the C(restic init) outcome, else null.
      type: dict
    bytes_added:
      description: Bytes all new snapshots added to the repository.
      type: int
    bytes_processed:
      description: Bytes restic read for all new snapshots.
      type: int
shadows_created:
  description: Ids of the shadow copies the job created (lower case, no braces).
  returned: always
  type: list
  elements: str
shadows_deleted:
  description: Ids of the job's shadow copies that were deleted (by the job, or by the cleanup step).
  returned: always
  type: list
  elements: str
expired:
  description: Generations deleted by O(retention) in this run (with restic, the ids of the snapshots
    C(restic forget) removed).
  returned: always
  type: list
  elements: str
  sample: [20261101T020000Z]
expired_before_copy:
  description:
    - Generations deleted before the copy to make room (O(expire_before_copy_when_short)); in check mode, those that
      would be. Each is one that O(retention) expires counting this backup. A warning names them too.
  returned: always when a job ran; in check mode when room would be made
  type: list
  elements: str
  sample: [20261020T020000Z]
retention_skipped:
  description:
    - True when O(retention) was set but did not run because the job could not list the generations at the
      destination as its account; a warning says why. Nothing was expired.
  returned: when a job ran to its end
  type: bool
restore_points:
  description:
    - Per VM, the restore points at the destination after this run, that is the complete generations whose manifest
      holds the VM complete (those M(vaware.hyperv.win_vm_restore) can restore). They are the generations the job
      account listed before the copy, less those this run deleted, plus this generation when its manifest was
      written.
    - Sorted by VM name; a VM that is no longer backed up is listed while it has restore points.
  returned: when a job ran to its end and could list the generations at the destination
  type: list
  elements: dict
  contains:
    name:
      description: VM name, as the newest restore point spells it.
      type: str
    count:
      description: Number of restore points.
      type: int
      sample: 7
    oldest:
      description: Generation id of the oldest restore point.
      type: str
      sample: 20261118T020000Z
destination_free_bytes:
  description:
    - Free bytes at the destination as the job account saw them before the snapshot (after any room was made), or
      null when the job did not measure. The fleet report tracks this figure from run to run.
  returned: when a job ran to its end
  type: int
  sample: 1319413953331
destination_total_bytes:
  description:
    - Size in bytes of the volume or share holding the destination, measured together with RV(destination_free_bytes).
  returned: when a job ran to its end
  type: int
  sample: 4398046511104
writer:
  description: The Microsoft Hyper-V VSS Writer, before and during the snapshot.
  returned: when a job ran to its end
  type: dict
  contains:
    outcome:
      description: C(included), C(excluded), C(not_required) (no VM in the job) or C(unknown).
      type: str
    required:
      description: Value of O(require_hyperv_writer) when VMs were in the job.
      type: bool
    state:
      description: VSS writer state number before the backup (1 is stable).
      type: int
writer_problems:
  description:
    - VSS writers in trouble, each with the Windows service that hosts it and the usual fix; empty when all are
      stable. The preflight lists every writer C(vssadmin list writers) shows in a state other than stable (failed,
      waiting, unknown) and, when VMs are to be backed up, a missing Microsoft Hyper-V VSS Writer; the job adds the
      Hyper-V writer when the snapshot left it out.
    - A failed or missing Hyper-V writer fails the run (unless O(require_hyperv_writer=false)) and the message ends
      with the remedy; any other problem is also a warning line.
    - Writers are matched by writer id (the same in every display language), else by English name; see the table
      in C(docs/win_vss_backup.md).
  returned: when a backup was planned by this run or a job ran to its end, and when the writer check failed
  type: list
  elements: dict
  contains:
    name:
      description: Writer name as listed (writer names are not translated).
      type: str
    id:
      description: Writer id, lower case without braces (null when not known).
      type: str
    state:
      description: VSS writer state number (1 stable, 2-5 waiting, 6-15 failed; null when the writer is missing).
      type: int
    state_name:
      description: The state's C(VSS_WS_*) symbol.
      type: str
    last_error:
      description: The last error as the host printed it (in its display language), or the diskshadow error of the job.
      type: str
    problem:
      description: C(failed), C(waiting), C(unstable) (no usable state) or C(missing).
      type: str
    service:
      description: Name of the Windows service that hosts the writer, for example C(vmms); null when not known.
      type: str
    service_display_name:
      description: That service's display name, for example C(Hyper-V Virtual Machine Management).
      type: str
    explanation:
      description: What the state and the last error usually mean.
      type: str
    remedy:
      description:
        - The usual fix, for example restart the service (C(Restart-Service -Name vmms)), then
          C(vssadmin list writers) must show the writer as C([1] Stable).
      type: str
    found_by:
      description: C(preflight) (the listing before the job) or C(job) (the job's snapshot).
      type: str
  sample:
    - name: Microsoft Hyper-V VSS Writer
      id: 66841cd4-6ded-4f4b-8f17-fd23f8ddc3de
      state: 9
      state_name: VSS_WS_FAILED_AT_FREEZE
      last_error: Timed out
      problem: failed
      service: vmms
      service_display_name: Hyper-V Virtual Machine Management
      explanation: "failed at freeze during the last backup or snapshot: ..."
      remedy: "restart the Hyper-V Virtual Machine Management service (vmms) on the host (`Restart-Service -Name vmms`),
        then `vssadmin list writers` must show 'Microsoft Hyper-V VSS Writer' as [1] Stable; ..."
      found_by: preflight
plan:
  description: The backup plan (volumes, mount folders, per-VM copy steps, total size), see C(docs/backup_engine.md).
  returned: when a backup was planned by this run
  type: dict
attached:
  description: True when this run attached to a job that was already running.
  returned: when attached
  type: bool
cancelled:
  description: True when the job was cancelled.
  returned: when cancelled
  type: bool
stale_shadows:
  description: Shadow copies left by earlier crashed jobs of this module that were found.
  returned: when a backup was planned by this run
  type: list
  elements: dict
stale_shadows_deleted:
  description: Ids of those stale shadow copies that were deleted.
  returned: when a backup was started
  type: list
  elements: str
step:
  description: The step that failed (preflight, plan, sweep stale, start, poll, destination, snapshot, copy,
    verify, collect, finalize, cleanup, cancel, job, attach).
  returned: failure
  type: str
  sample: copy
remote_calls:
  description: Number of calls made to the host.
  returned: always
  type: int
warnings:
  description: Things the user should know that did not fail the backup.
  returned: always
  type: list
  elements: str
"""
