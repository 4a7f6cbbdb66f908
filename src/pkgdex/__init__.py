"""pkgdex: self-hosted package intelligence for open-source registries."""
