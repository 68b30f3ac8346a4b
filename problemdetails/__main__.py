from problemdetails._cli import main_exit

main_exit()
