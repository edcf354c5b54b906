#!/bin/sh
# gate decision cost with a 10,000-member roster vs a 100-member one (issue 15 point 2)
exec "$2/tlpmesh-rosterbench"
