#!/usr/bin/env bash
# The .deb: `cpack -G DEB` as the README says; then what is in it (dpkg-deb -I/-c),
# the extracted binary run, and lintian without errors.
#
# By default it packs the build folder the tests run from (BUILD): the package's
# rules (cmake/Packaging.cmake: install() of the binary, man page, completions and
# docs; CPACK_STRIP_FILES) do not depend on the build type, and a Release build of its
# own cost CI 7 minutes of a clean machine's two cores. PACKAGE_TEST_RELEASE=1 makes
# the README's Release folder first (under BUILD, removed before and after, at a fixed
# place so that ccache finds the same paths as last time) and packs that.
source "$(dirname "$0")/../e2e/lib.sh"
BUILD=${BUILD:?set BUILD to the build folder}
pkg_build=$BUILD
trap 'rm -rf "$WORK"' EXIT
if [ "${PACKAGE_TEST_RELEASE:-0}" = 1 ]; then
  pkg_build=$BUILD/package-test
  trap 'rm -rf "$WORK" "$pkg_build"' EXIT
  rm -rf "$pkg_build"
  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  echo "==> Release build in $pkg_build"
  cmake -S "$REPO" -B "$pkg_build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMLDEPLOY_TESTS=OFF "${launcher[@]}" >/dev/null
  cmake --build "$pkg_build" -j 2 >/dev/null
else
  echo "==> packing the tests' build folder $pkg_build (PACKAGE_TEST_RELEASE=1: a Release build of its own)"
fi
# The package and CPack's staging go to the test's own folder, not the build folder.
out=$WORK/cpack
(cpack -G DEB --config "$pkg_build/CPackConfig.cmake" -B "$out" >"$WORK/cpack.log" 2>&1) ||
  { cat "$WORK/cpack.log" >&2; exit 1; }
deb=$(ls "$out"/mldeploy_*.deb)
check "one .deb, named as Debian does" test "$(wc -w <<<"$deb")" = 1 -a -n "$(basename "$deb" | grep -E '^mldeploy_[0-9.]+-1_amd64\.deb$')"

info=$(dpkg-deb -I "$deb")
field() { dpkg-deb -f "$deb" "$1"; }
check "Package" eq "$(field Package)" mldeploy
check "Version" contains "$(field Version)" '^[0-9.]*-1$'
check "Architecture" eq "$(field Architecture)" "$(dpkg --print-architecture)"
depends=$(field Depends)
echo "Depends: $depends"
check "Depends: libarchive13 (loaded with dlopen)" contains "$depends" 'libarchive13'
check "Depends: libcurl from the binary's links" contains "$depends" 'libcurl4 (>='
check "Depends: libc from the binary's links" contains "$depends" 'libc6 (>='
check "Depends: no libstdc++ (linked statically)" eq "$(grep -c libstdc <<<"$depends")" 0
check "Maintainer" contains "$info" 'Maintainer: '
check "extended description" contains "$info" ' mldeploy reads a stack file'

files=$(dpkg-deb -c "$deb" | awk '{ print $NF }' | sed 's|^\./|/|')
for f in /usr/bin/mldeploy /usr/share/man/man1/mldeploy.1.gz \
         /usr/share/bash-completion/completions/mldeploy /usr/share/zsh/vendor-completions/_mldeploy \
         /usr/share/fish/vendor_completions.d/mldeploy.fish \
         /usr/share/doc/mldeploy/copyright /usr/share/doc/mldeploy/changelog.Debian.gz; do
  check "contains $f" grep -qx -- "$f" <<<"$files"
done
check "nothing under /usr/local" eq "$(grep -c '^/usr/local' <<<"$files")" 0
check "owned by root" eq "$(dpkg-deb -c "$deb" | awk '$2 != "root/root"' | wc -l)" 0

dpkg-deb -x "$deb" "$WORK/root"
bin=$WORK/root/usr/bin/mldeploy
check "extracted binary: version" contains "$("$bin" version 2>&1)" "^mldeploy $(field Version | sed 's/-1$//')"
check "extracted binary: --help lists the commands" contains "$("$bin" --help)" completion
check "extracted binary is stripped" contains "$(file "$bin")" ', stripped'
check "bash completion is this binary's" eq "$(cat "$WORK/root/usr/share/bash-completion/completions/mldeploy")" \
  "$("$bin" completion bash)"
check "man page: a section per command" eq "$(zcat "$WORK/root/usr/share/man/man1/mldeploy.1.gz" | grep -c '^\.SS "[a-z]*"$')" \
  "$("$bin" --help | awk '/^[A-Za-z]+:$/ { s = ($0 ~ /^SUBCOMMANDS:$|^Subcommands:$/); next } s && /^  [a-z]/' | wc -l)"

# lintian as root says so and carries on; --allow-root keeps that quiet.
lint=$(lintian --allow-root --tag-display-limit 0 "$deb" 2>&1) || true
echo "$lint"
check "lintian: no errors" eq "$(grep -c '^E:' <<<"$lint")" 0
finish
