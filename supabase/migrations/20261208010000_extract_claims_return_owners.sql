-- Extraction's claims read their owners in the claiming statement itself (ON CONFLICT DO UPDATE
-- ... RETURNING): the separate read of the owners was planned on the "nearly empty" statistics
-- of a table that fills from empty during each import, and scanned the whole table once per
-- claimed text. DO UPDATE needs the UPDATE privilege, granted here beside the others.
grant update on table private.extract_first_messages to service_role;
