#!/usr/bin/env bash
# corio-core's layers: which module may import which (docs/design.md, "Layers").
#
# Reads every .rs file under core/src (or the tree given with --root), finds every path that leaves the file's own
# top-level module -- `crate::x::...` (also inside `use crate::{...}` groups) and `super::` chains that climb to the
# crate root -- and fails if the target is not in the file's row of the table below. Comment lines are skipped (a doc
# link creates no dependency); everything else counts, test modules included. Needs bash and perl.
#
# Usage:
#   verify/layers.sh                 check core/src; one line per violation, exit 1 if any
#   verify/layers.sh --root DIR      check DIR instead (a copy of core/src)
#   verify/layers.sh --self-test     plant forbidden imports in copies of core/src; each must be caught
#
# THE TABLE: `PATH | ALLOWED`, first matching row wins. PATH is a file, or a directory with a trailing `/`, relative
# to core/src. ALLOWED lists what the file may name outside its own top-level module: a module (`task`), or a path
# under one (`io::registry` allows `crate::io::registry::...` and nothing else of `io`); `-` is nothing, `*` anything.
# A file in no row is an error, so a new module has to take its place in the table.
set -euo pipefail
cd "$(dirname "$0")/.."

read -r -d '' TABLE <<'EOF' || true
# The leaves: std, or loom's stand-ins for it.
loom.rs           | -
spin.rs           | -
clock.rs          | -
executor.rs       | -
loop_id.rs        | -
reactor.rs        | loom
reactor/ops.rs    | loom
# Tasks, and the seam (task/host.rs) through which a task reaches its loop.
task/             | loom
# What needs tasks only: context variables (a task names its context), the synchronisation primitives.
context/          | loom task
sync/             | loom task
# The loop's lower neighbours, each with its own seam to the loop: the blocking pool (blocking/host.rs), and the
# lower half of I/O, the readiness table and the driver seam (io/registry.rs, io/driver.rs).
blocking/         | loom spin context task
io/registry.rs    | loom reactor
io/driver.rs      | loom loop_id reactor::ops
# The loop implements those seams; of I/O it uses the lower half only.
runtime/          | loom spin clock executor reactor loop_id task context blocking io::registry io::driver io::Direction io::IoKey time::deadline_after time::end_of_time
time/far.rs       | -
# Above the loop.
time/             | loom loop_id task runtime
io/resolve/       | loom reactor loop_id task time blocking runtime
io/               | loom reactor loop_id task time
completion.rs     | loom task runtime
structured/       | task runtime time
cancellable.rs    | task structured
signal/           | loom io task runtime
multi_loop/       | loom clock context executor reactor io task runtime
fs/               | loom task runtime blocking io reactor time
process/          | loom task runtime blocking io reactor signal time
streams/          | loom task runtime blocking io reactor time structured spawn sleep
lib.rs            | *
EOF

# check ROOT: prints the violations under ROOT (a core/src tree); exit status 1 if any.
check() {
    TABLE="$TABLE" perl -e '
        use strict; use warnings;
        use File::Find;
        my $root = shift @ARGV;
        $root =~ s{/+$}{};
        my @table;
        for (split /\n/, $ENV{TABLE}) {
            next if /^\s*(#|$)/;
            my ($path, $allowed) = map { s/^\s+|\s+$//gr } split /\|/, $_, 2;
            push @table, [$path, [split " ", $allowed]];
        }
        sub row {
            my ($rel) = @_;
            for my $row (@table) {
                my $path = $row->[0];
                return $row->[1] if ($path =~ m{/$} ? index($rel, $path) == 0 : $rel eq $path);
            }
            return undef;
        }
        # Expands a use tree ("a::{b, c::d}") into its leaf paths.
        sub expand {
            my ($prefix, $tree) = @_;
            $tree =~ s/^\s+|\s+$//g;
            if ($tree =~ /^(.*?)::\{(.*)\}$/s || $tree =~ /^()\{(.*)\}$/s) {
                my ($head, $inner) = ($1, $2);
                my $base = $head eq "" ? $prefix : ($prefix eq "" ? $head : "${prefix}::$head");
                my ($depth, $cur, @parts) = (0, "");
                for my $ch (split //, $inner) {
                    $depth++ if $ch eq "{";
                    $depth-- if $ch eq "}";
                    if ($ch eq "," && $depth == 0) { push @parts, $cur; $cur = ""; } else { $cur .= $ch; }
                }
                push @parts, $cur;
                return map { expand($base, $_) } grep { /\S/ } @parts;
            }
            $tree =~ s/\s+as\s+\w+$//;
            return ($prefix eq "" ? $tree : "${prefix}::$tree");
        }
        my @files;
        find(sub { push @files, $File::Find::name if /\.rs$/ }, $root);
        my $violations = 0;
        for my $file (sort @files) {
            (my $rel = $file) =~ s{^\Q$root\E/}{};
            my $allowed = row($rel);
            if (!defined $allowed) {
                print "layers: core/src/$rel is in no row of the table (verify/layers.sh)\n";
                $violations++;
                next;
            }
            next if grep { $_ eq "*" } @$allowed;
            open my $fh, "<", $file or die "$file: $!";
            my $text = "";
            while (my $line = <$fh>) {
                next if $line =~ m{^\s*//};
                $line =~ s{\s//[^"]*$}{};
                $text .= $line;
            }
            close $fh;
            # The file'"'"'s module path: a/b.rs is a::b, a/b/mod.rs is a::b, a.rs is a.
            (my $module = $rel) =~ s{(/mod)?\.rs$}{};
            my @module = split m{/}, $module;
            my $top = $module[0];
            my @targets;
            my $group = qr/\{(?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*\}/;
            while ($text =~ /(?<![\w:])crate::($group|[\w:]*\w(?:::$group)?)/g) {
                push @targets, expand("", $1);
            }
            while ($text =~ /(?<![\w:])((?:super::)+)(\w+)/g) {
                my ($chain, $name) = ($1, $2);
                my $climb = () = $chain =~ /super::/g;
                push @targets, $name if $climb >= @module;
            }
            for my $target (@targets) {
                my ($first) = split /::/, $target;
                next if !defined $first || $first eq $top || $first eq "self";
                next if grep { $target eq $_ || index($target, "${_}::") == 0 } @$allowed;
                print "layers: core/src/$rel names crate::$target (allowed: @$allowed)\n";
                $violations++;
            }
        }
        exit($violations > 0 ? 1 : 0);
    ' "$1"
}

self_test() {
    local failed=0
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
    cp -r core/src "$scratch/clean"
    if ! check "$scratch/clean" >/dev/null; then
        echo "self-test: FAILED: the unplanted copy does not pass"
        failed=1
    fi
    plant() { # FILE TEXT: a copy of core/src with TEXT appended to FILE; the check must fail on it
        rm -rf "$scratch/planted" && cp -r core/src "$scratch/planted"
        printf '\n%s\n' "$2" >> "$scratch/planted/$1"
        if check "$scratch/planted" >/dev/null; then
            echo "self-test: NOT caught: \`$2\` in core/src/$1"
            failed=1
        else
            echo "self-test: caught: \`$2\` in core/src/$1"
        fi
    }
    plant task/raw.rs 'use crate::runtime::current;'
    plant task/join.rs 'fn f() -> bool { crate::runtime::current::any_running() }'
    plant task/any.rs 'use crate::{loom::Arc, runtime::{current, shared}};'
    plant task/waker.rs 'use super::super::runtime::current;'
    plant task/host.rs 'use crate::io::driver;'
    plant io/source.rs 'use crate::runtime::shared::LoopShared;'
    plant io/tcp.rs 'use crate::runtime::current::with_running;'
    plant blocking/pool.rs 'use crate::runtime::LoopHandle;'
    plant runtime/event_loop.rs 'use crate::io::TcpStream;'
    plant sync/lock.rs 'use crate::runtime::current;'
    plant unlisted.rs '// a module the table does not place'
    return $failed
}

case "${1:-}" in
    --self-test) self_test ;;
    --root) check "$2" ;;
    "") check core/src && echo "layers: every import points down the table (verify/layers.sh)" ;;
    *) echo "usage: verify/layers.sh [--root DIR | --self-test]" >&2; exit 2 ;;
esac
