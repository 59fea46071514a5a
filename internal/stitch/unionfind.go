package stitch

// unionFind is a disjoint-set forest over dense node numbers that also
// counts, per set, the identifier values of each category it holds, which
// the max_per_entity guard rail needs.
type unionFind struct {
	parent []int32
	cats   int
	counts []int32 // counts[root*cats+c]
}

func newUnionFind(nodes, cats int) *unionFind {
	u := &unionFind{parent: make([]int32, nodes), cats: cats, counts: make([]int32, nodes*cats)}
	for i := range u.parent {
		u.parent[i] = int32(i)
	}
	return u
}

func (u *unionFind) find(x int32) int32 {
	for u.parent[x] != x {
		u.parent[x] = u.parent[u.parent[x]]
		x = u.parent[x]
	}
	return x
}

func (u *unionFind) count(root int32, c int) int32 { return u.counts[int(root)*u.cats+c] }

// rootCounts are the counts of the set of root.
func (u *unionFind) rootCounts(root int32) []int32 {
	return u.counts[int(root)*u.cats : int(root+1)*u.cats]
}

// union joins the sets of roots a and b and returns the new root.
func (u *unionFind) union(a, b int32) int32 {
	if a == b {
		return a
	}
	if a > b { // deterministic: the smaller node number is the root
		a, b = b, a
	}
	u.parent[b] = a
	for c := 0; c < u.cats; c++ {
		u.counts[int(a)*u.cats+c] += u.counts[int(b)*u.cats+c]
	}
	return a
}

// over reports whether the set of root has more values of a category than
// its limit (0 is no limit).
func (u *unionFind) over(root int32, limits []int32) bool {
	for c, max := range limits {
		if max > 0 && u.count(root, c) > max {
			return true
		}
	}
	return false
}
