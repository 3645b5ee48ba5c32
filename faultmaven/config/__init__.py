from faultmaven.config.settings import Settings

__all__ = ["Settings"]
