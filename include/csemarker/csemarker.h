/* csemarker: umbrella header. Include this one. */
#ifndef CSEMARKER_H
#define CSEMARKER_H

#include <csemarker/common.h>
#include <csemarker/fhir.h>
#include <csemarker/model.h>
#include <csemarker/rules.h>
#include <csemarker/sink.h>

#endif
