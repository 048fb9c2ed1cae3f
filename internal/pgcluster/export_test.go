package pgcluster

// Dir returns the cluster's temporary directory.
func Dir(c *Cluster) string { return c.dir }

var NewestFirst = newestFirst
