-- Reserved: keeps migration numbers contiguous (renumbered at merge).
SELECT 1;
