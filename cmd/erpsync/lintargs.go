package main

import "path/filepath"

// expandLintResources expands the glob patterns given to `lint -r`.
//
// `run`, `streams` and `test` expand a quoted `-r 'config/resources/*.yaml'`
// themselves, but Benthos's lint adds each -r value to its targets as a
// literal path, so the README's one set of flags failed with "open
// config/resources/*.yaml: no such file or directory". A pattern that
// matches nothing is left as written, so lint still names it.
func expandLintResources(args []string) []string {
	cmd := -1
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "lint" {
			cmd = i
			break
		}
		if len(a) == 0 || a[0] != '-' {
			return args // another subcommand, or a config path for run
		}
		if takesValue(a) {
			i++
		}
	}
	if cmd < 0 {
		return args
	}
	out := append([]string(nil), args[:cmd+1]...)
	for i := cmd + 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return append(out, args[i:]...)
		case (a == "-r" || a == "--resources") && i+1 < len(args):
			for _, m := range globOrSelf(args[i+1]) {
				out = append(out, a, m)
			}
			i++
		case len(a) > 3 && a[:3] == "-r=":
			for _, m := range globOrSelf(a[3:]) {
				out = append(out, "-r="+m)
			}
		case len(a) > 12 && a[:12] == "--resources=":
			for _, m := range globOrSelf(a[12:]) {
				out = append(out, "--resources="+m)
			}
		default:
			out = append(out, a)
		}
	}
	return out
}

// takesValue reports whether a global flag before the subcommand is
// followed by its value as a separate argument.
func takesValue(flag string) bool {
	switch flag {
	case "-r", "--resources", "-e", "--env-file", "-c", "--config", "-s", "--set",
		"-t", "--templates", "--log.level":
		return true
	}
	return false
}

func globOrSelf(pattern string) []string {
	matches, err := filepath.Glob(pattern)
	if err != nil || len(matches) == 0 {
		return []string{pattern}
	}
	return matches
}
