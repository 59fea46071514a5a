-- placeholder for 010 (the job runtime's migration); drop this commit when merging
SELECT 1;
