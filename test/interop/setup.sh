#!/usr/bin/env bash
# Installs what the interop suite needs from npm beyond the package's own dependencies:
# @confluentinc/kafka-javascript (librdkafka 2.x), built from source against the system's
# OpenSSL, zlib, zstd, lz4 and SASL libraries (CKJS_LINKING=dynamic builds the bundled librdkafka
# without downloading its dependencies). It is installed with --no-save: it is a test tool, not a
# dependency of Tributary. The Debian packages it needs are listed in test/interop/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."

CKJS_VERSION="${CKJS_VERSION:-1.10.1}"
export CKJS_LINKING=dynamic

loads() { node -e "require('@confluentinc/kafka-javascript')" 2>/dev/null; }

if loads && [ "$(node -p "require('@confluentinc/kafka-javascript/package.json').version")" = "$CKJS_VERSION" ]; then
  echo "@confluentinc/kafka-javascript $CKJS_VERSION is already installed and loads"
  exit 0
fi

npm install --no-save --no-audit --no-fund "@confluentinc/kafka-javascript@${CKJS_VERSION}"

# npm 11 may hold back the install scripts of packages not listed in package.json's allowScripts
# (see `npm install-scripts ls`); build the addon ourselves when that happened.
if ! loads; then
  echo "the native addon was not built during install; building it now"
  (cd node_modules/@confluentinc/kafka-javascript && ../../.bin/node-pre-gyp install --fallback-to-build)
fi

node -e "const k = require('@confluentinc/kafka-javascript'); console.log('@confluentinc/kafka-javascript', require('@confluentinc/kafka-javascript/package.json').version, 'librdkafka', k.librdkafkaVersion, 'features', k.features.join(','))"
