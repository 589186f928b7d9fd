old_name()
risky()
