from xltool.cli import main

main(prog_name="xltool")
