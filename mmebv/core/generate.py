"""placeholder"""
def generate_ebvs(*a, **k): raise NotImplementedError
def extend_ebvs(*a, **k): raise NotImplementedError
