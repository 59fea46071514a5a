-- Reserved: number 017 belongs to a migration being written on another
-- branch. This placeholder only keeps the numbers contiguous for 018; the
-- real 017 replaces it when the branches merge.
SELECT 1;
