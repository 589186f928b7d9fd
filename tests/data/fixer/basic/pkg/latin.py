# -*- coding: latin-1 -*-
s = "éé"; old_name()
