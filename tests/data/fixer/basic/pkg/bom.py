x = old_name()
break_me()
