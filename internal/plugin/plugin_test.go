package plugin

import (
	"os"
	"testing"

	"github.com/weftdata/weft/internal/store/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
