/* SPDX-License-Identifier: MIT */
/* csemarker: umbrella header. Include this one. */
#ifndef CSEMARKER_H
#define CSEMARKER_H

#include <csemarker/common.h>
#include <csemarker/fhir.h>
#include <csemarker/fhirread.h>
#include <csemarker/fhirwrite.h>
#include <csemarker/gp2gp.h>
#include <csemarker/model.h>
#include <csemarker/repair.h>
#include <csemarker/rules.h>
#include <csemarker/report.h>
#include <csemarker/sink.h>
#include <csemarker/snomed.h>

#endif
