"""Names of the default structure (spec §6.5)."""

DEFAULT_SYSTEM_ID = "system"
DEFAULT_SYSTEM_NAME = "My Solar System"
DEFAULT_SYSTEM_DESCRIPTION = "Auto-created default system"
DEFAULT_TIMEZONE = "Asia/Karachi"
DEFAULT_ARRAY_ID = "array1"
DEFAULT_ARRAY_NAME = "Default Inverter Array"
DEFAULT_BATTERY_ARRAY_ID = "battery_array1"
DEFAULT_BATTERY_ARRAY_NAME = "Default Battery Array"

# Catalog ids are short text keys used in URLs, YAML and SQL.
ID_MAX_LENGTH = 64
ID_REGEX = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"

# Seconds between polls of one device, on every write path (admin, API, YAML, discovery). The
# adapter config schema (adapters.registry) bounds a config's own ``poll_interval_s`` alike.
POLL_INTERVAL_MIN_S = 1.0
POLL_INTERVAL_MAX_S = 3600.0
# Free-text descriptions: long enough for notes, short enough to send in every API response.
DESCRIPTION_MAX_LENGTH = 2000
