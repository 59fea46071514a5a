package demo

import "fmt"

var (
	firstNames   = []string{"ana", "ben", "clara", "david", "eva", "filip", "greta", "hugo", "ines", "jan", "karla", "lukas", "mia", "noah", "olga", "petr", "rosa", "samuel", "tereza", "viktor"}
	lastNames    = []string{"novak", "svoboda", "muller", "schmidt", "rossi", "garcia", "martin", "silva", "kowalski", "jansen", "larsen", "dubois"}
	domains      = []string{"example.com", "mail.example.org", "inbox.example.net", "post.example.cz"}
	placeholders = []string{"test@test.com", "none", "null", "noemail@example.com"}
	forms        = []string{"newsletter", "contact", "checkout", "account"}
	referrers    = []string{"", "https://www.google.com/", "https://www.facebook.com/", "https://news.example.org/", "email"}
	userAgents   = []string{"Mozilla/5.0 (Windows NT 10.0; Win64; x64)", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X)", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5)", "Mozilla/5.0 (Linux; Android 15)"}
	cities       = []string{"Prague", "Brno", "Vienna", "Berlin", "Munich", "Warsaw", "Bratislava", "Budapest"}
)

type product struct {
	sku, name, category string
	price               float64
}

var categories = []string{"shoes", "jackets", "shirts", "bags", "watches", "hats", "socks", "sunglasses"}

// products is a fixed catalog of 200 items, 25 per category.
var products = func() []product {
	var out []product
	for i := 0; i < 200; i++ {
		cat := categories[i%len(categories)]
		out = append(out, product{
			sku:      fmt.Sprintf("SKU-%04d", i),
			name:     fmt.Sprintf("%s model %d", cat, i/len(categories)+1),
			category: cat,
			price:    float64(900+(i*7919)%20000) / 100,
		})
	}
	return out
}()

// Product is an item of the demo shop's catalog.
type Product struct {
	SKU, Name, Category string
	Price               float64
}

// Products is the demo shop's catalog: 200 items, 25 per category, the
// ones the demo purchases and page views are of.
func Products() []Product {
	out := make([]Product, len(products))
	for i, p := range products {
		out[i] = Product{SKU: p.sku, Name: p.name, Category: p.category, Price: p.price}
	}
	return out
}
