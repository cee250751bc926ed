"""The user study of the paper's §7.4 / Table 3: pairwise preference votes on pre-rendered
animations, stored in SQLite or PostgreSQL, reported as Table 3 and Bradley–Terry strengths.

- ``config``: study files (JSON or YAML); ``prepare``: render every video ahead of time;
- ``store``: the votes database; ``session``: consent, next pair, vote (the app and its API);
- ``report``: Table 3 percentages and Bradley–Terry strengths with bootstrap intervals.
"""

from .config import StudyConfig, load_config
from .report import make_report, write_votes_csv
from .store import CHOICES, CRITERIA, StudyStore, default_db_url

__all__ = ["CHOICES", "CRITERIA", "StudyConfig", "StudyStore", "default_db_url", "load_config", "make_report", "write_votes_csv"]
