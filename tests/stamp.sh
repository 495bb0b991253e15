#!/bin/sh
# stamp.sh LOG WHAT: append "WHAT <unix time>" to LOG (for order tests)
echo "$2 $(date +%s.%N)" >> "$1"
