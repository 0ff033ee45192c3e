-- The journey file itself never returns: loading must fail, not hang.
while true do end
