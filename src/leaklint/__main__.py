from leaklint.cli import main

main()
