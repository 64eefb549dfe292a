// Package archtest holds no code: its test enforces the dependency
// direction between Bolide's packages that DESIGN.md lays down, so that a
// layering mistake fails the build instead of growing quietly.
package archtest
