class PledgesError(Exception):
    code = "pledges_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class SlugTaken(PledgesError):
    code = "slug_taken"


class ImportRefused(PledgesError):
    code = "import_refused"


class ImportStateError(PledgesError):
    code = "import_state"


class SkuMapLocked(PledgesError):
    code = "sku_map_locked"


class SkuMapBlocked(PledgesError):
    code = "sku_map_blocked"
