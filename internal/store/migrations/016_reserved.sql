-- Placeholder: version 016 belongs to another branch (migrations run 1..n
-- without gaps). Delete this file when that branch's 016 is merged.
SELECT 1;
