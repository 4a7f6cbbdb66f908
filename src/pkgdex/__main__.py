from pkgdex.cli import main

main()
