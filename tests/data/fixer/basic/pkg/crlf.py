def f():
    add_line()
    return old_name()
