# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The O(repository) option of the modules that write or read a backup: files, or a restic repository.

Each module documents what the option means for it (its C(description)); the keys are the same everywhere, so
one variable (the hyperv_backup role's C(hyperv_backup_repository)) serves the backup and every restore.
"""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  repository:
    description:
      - Where the backups are; V(files) (the default) or a restic repository.
    type: dict
    suboptions:
      type:
        description: The kind of repository.
        type: str
        choices: [files, restic]
        default: files
      location:
        description:
          - The restic repository, as restic names it (C(RESTIC_REPOSITORY)) - a local or UNC path such as
            V(\\\\nas\\restic\\hyperv), or V(sftp:user@host:/srv/restic), V(s3:https://...), V(rest:https://...),
            V(b2:...), V(azure:...), V(gs:...), V(swift:...), V(rclone:...). Required for restic.
          - Credentials in a URL are left out of results (C(user:***@)).
        type: str
      password:
        description: The repository password. Required for restic; never logged or returned.
        type: str
      environment:
        description:
          - Backend variables restic reads from its environment, for example C(AWS_ACCESS_KEY_ID) and
            C(AWS_SECRET_ACCESS_KEY), C(B2_*), C(AZURE_*), C(GOOGLE_*), C(OS_*), C(ST_*), C(RCLONE_*),
            C(RESTIC_REST_*), C(RESTIC_CACERT), C(RESTIC_TLS_CLIENT_CERT), C(RESTIC_PACK_SIZE). Treated as secret.
        type: dict
      options:
        description: restic C(-o key=value) options, for example C(sftp.command).
        type: dict
      compression:
        description: restic's compression (repository format 2); V(auto) when not given. Backups only.
        type: str
        choices: [auto, "off", max]
      tags:
        description: More tags for every snapshot (no commas). Backups only.
        type: list
        elements: str
      restic_path:
        description:
          - Where restic.exe is on the host; C(C:\Program Files\restic\restic.exe) when not given. The
            preflight fails when it is missing or older than 0.14.0.
        type: str
      init:
        description: Create the repository when there is none (C(restic init)); false when not given. Backups only.
        type: bool
      check_read_data_subset:
        description:
          - Also read this part of the stored data in the C(restic check) after the backups
            (C(--read-data-subset)), for example V(1/7), V(10%) or V(500M). Only the structure is checked when
            not given. Backups only.
        type: str
      prune_weekdays:
        description:
          - Days (UTC day of the job) on which C(restic prune) runs after C(restic forget) removed snapshots;
            V([sunday]) when not given. Backups only.
        type: list
        elements: str
"""
