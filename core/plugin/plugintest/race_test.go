//go:build race

package plugintest_test

const raceBuild = true
