"""`make invoke`: one function of the templates, with one event, in its Lambda container
(`sam local invoke`), against a local account made from the templates; the `sam_local` test tier
runs on the same account."""
