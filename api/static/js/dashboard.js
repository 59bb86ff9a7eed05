/* The organizer dashboard: funnel, turf map, activity, leaderboard, follow-ups; refreshes itself. */
(function () {
  "use strict";
  var api = window.canvassApi;
  if (!api.token()) { window.location.replace("/sign-in"); return; }

  var root = document.getElementById("dashboard");
  var refreshSeconds = parseInt(root.getAttribute("data-refresh-seconds"), 10) || 60;
  var wardSelect = document.getElementById("ward-filter");
  var campaignSelect = document.getElementById("campaign-filter");
  var errorBanner = document.getElementById("dashboard-error");
  var charts = {};
  var map = null, turfLayer = null, fittedFor = null, wardsKnown = false;
  var STAGE_LABELS = { contacted: "Contacted", supporter: "Supporter", pledged: "Pledged",
                       volunteer: "Volunteer", member: "Member", leader: "Leader" };

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (className) { node.className = className; }
    return node;
  }

  function fillTable(id, rows, empty) {
    var body = document.querySelector("#" + id + " tbody");
    body.replaceChildren();
    if (!rows.length) {
      var tr = el("tr"), td = el("td", empty, "muted");
      td.colSpan = document.querySelectorAll("#" + id + " thead th").length;
      tr.appendChild(td); body.appendChild(tr); return;
    }
    rows.forEach(function (cells) {
      var tr = el("tr");
      cells.forEach(function (cell) { tr.appendChild(el("td", cell)); });
      body.appendChild(tr);
    });
  }

  function percent(value) { return value === null || value === undefined ? "–" : Math.round(value * 100) + "%"; }
  function number(value) { return (value || 0).toLocaleString(); }

  // Red (nothing knocked) through amber to green (every door knocked).
  function completionColour(value) {
    var v = Math.max(0, Math.min(1, value || 0));
    var hue = Math.round(v * 120);
    return "hsl(" + hue + ", 70%, 45%)";
  }

  function showError(err) {
    errorBanner.textContent = err.status === 403 ? "Your role can't open the dashboard (organizers and field leads only)." :
      "Could not load part of the dashboard: " + (err.message || err);
    errorBanner.hidden = false;
  }

  function filters() { return { ward: wardSelect.value, campaign_id: campaignSelect.value }; }

  // --- sections ---------------------------------------------------------------------------

  function renderFunnel(funnel) {
    var stages = funnel.stages || [];
    var labels = stages.map(function (s) { return STAGE_LABELS[s.stage] || s.stage; });
    var reached = stages.map(function (s) { return s.reached; });
    var now = stages.map(function (s) { return s.current; });
    if (!charts.funnel) {
      charts.funnel = new window.Chart(document.getElementById("funnel-chart"), {
        type: "bar",
        data: { labels: labels, datasets: [
          { label: "Reached in range", data: reached, backgroundColor: "#2f6fb0" },
          { label: "At stage now", data: now, backgroundColor: "#9cc3e6" }
        ] },
        options: { indexAxis: "y", animation: false, maintainAspectRatio: false, responsive: true,
                   scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } }
      });
    } else {
      charts.funnel.data.labels = labels;
      charts.funnel.data.datasets[0].data = reached;
      charts.funnel.data.datasets[1].data = now;
      charts.funnel.update();
    }
    fillTable("funnel-table", stages.map(function (s) {
      return [STAGE_LABELS[s.stage] || s.stage, number(s.current), number(s.reached), percent(s.conversion_to_next)];
    }), "No people in the pipeline yet.");
  }

  function renderActivity(summary) {
    var t = summary.totals;
    document.getElementById("kpi-doors").textContent = number(t.doors);
    document.getElementById("kpi-conversations").textContent = number(t.conversations);
    document.getElementById("kpi-pledges").textContent = number(t.pledges);
    document.getElementById("kpi-flagged").textContent = number(t.flagged);
    var labels = summary.days.map(function (d) { return d.day.slice(5); });
    var sets = [["doors", "Doors", "#2f6fb0"], ["conversations", "Conversations", "#3a9d5d"], ["pledges", "Pledges", "#c77c11"]];
    if (!charts.activity) {
      charts.activity = new window.Chart(document.getElementById("activity-chart"), {
        type: "line",
        data: { labels: labels, datasets: sets.map(function (s) {
          return { label: s[1], data: summary.days.map(function (d) { return d[s[0]]; }), borderColor: s[2],
                   backgroundColor: s[2], tension: 0.2, pointRadius: 2 };
        }) },
        options: { animation: false, maintainAspectRatio: false, responsive: true,
                   scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
      });
    } else {
      charts.activity.data.labels = labels;
      sets.forEach(function (s, i) { charts.activity.data.datasets[i].data = summary.days.map(function (d) { return d[s[0]]; }); });
      charts.activity.update();
    }
  }

  function turfPopup(feature) {
    var p = feature.properties;
    var box = el("div", null, "turf-popup");
    box.appendChild(el("h3", p.name));
    var list = el("dl");
    [["Ward", p.ward || "–"], ["Doors", number(p.door_count)],
     ["Knocked", number(p.doors_knocked) + " (" + percent(p.completion) + ")"],
     ["Talked to", number(p.doors_talked)], ["Conversations", number(p.conversations)],
     ["Pledges", number(p.pledges)], ["Flagged", number(p.flagged)],
     ["Canvasser", !p.assignment ? "not assigned"
       : p.assignment.team ? "team " + p.assignment.team.name : p.assignment.canvasser.name]].forEach(function (pair) {
      list.appendChild(el("dt", pair[0])); list.appendChild(el("dd", pair[1]));
    });
    box.appendChild(list);
    if (p.assignment) {
      var link = el("a", "Print walk list");
      // Same tab: the token is in this tab's sessionStorage.
      link.href = "/walklists/" + p.assignment.id + "/print";
      box.appendChild(link);
    }
    return box;
  }

  function renderTurfs(collection) {
    if (!map) {
      map = window.L.map("turf-map", { zoomSnap: 0.25, attributionControl: false });
      map.setView([41.88, -87.63], 11);
    }
    if (turfLayer) { map.removeLayer(turfLayer); }
    turfLayer = window.L.geoJSON(collection, {
      style: function (feature) {
        return { color: "#333", weight: 1, fillOpacity: 0.65, fillColor: completionColour(feature.properties.completion) };
      },
      onEachFeature: function (feature, layer) {
        layer.bindPopup(function () { return turfPopup(feature); });
        layer.on("add", function () {
          var path = layer.getElement && layer.getElement();
          if (path) { path.setAttribute("data-turf-id", feature.id); path.classList.add("turf"); }
        });
      }
    }).addTo(map);
    var key = wardSelect.value + "|" + collection.features.length;
    if (collection.features.length && fittedFor !== key) {
      map.fitBounds(turfLayer.getBounds(), { padding: [10, 10] });
      fittedFor = key;
    }
    if (!wardsKnown && !wardSelect.value) {
      var wards = {};
      collection.features.forEach(function (f) { if (f.properties.ward) { wards[f.properties.ward] = true; } });
      Object.keys(wards).sort(function (a, b) { return a.localeCompare(b, undefined, { numeric: true }); })
        .forEach(function (name) { var o = el("option", "Ward " + name); o.value = name; wardSelect.appendChild(o); });
      wardsKnown = true;
    }
  }

  function renderLeaderboard(board) {
    fillTable("leaderboard", board.data.map(function (r) {
      return [r.rank, r.canvasser.name || ("#" + r.canvasser.id), number(r.doors), number(r.conversations),
              number(r.pledges), r.flagged ? r.flagged + " (" + percent(r.flag_rate) + ")" : "0"];
    }), "No door knocks in the last 30 days.");
  }

  function renderFollowUps(page) {
    fillTable("follow-ups", page.data.map(function (r) {
      var due = new Date(r.pledge.next_follow_up_at);
      return [due.toLocaleDateString(), r.person.first_name + " " + r.person.last_name, r.person.phone || "–",
              r.pledge.pledge_type];
    }), "Nothing due. Nice work.");
  }

  // --- loading ----------------------------------------------------------------------------

  function section(promise, render) {
    return promise.then(render).catch(function (err) {
      if (err instanceof api.ApiError) { showError(err); } else { throw err; }
    });
  }

  function refresh() {
    var f = filters();
    errorBanner.hidden = true;
    return Promise.all([
      section(api.getJSON("/v1/funnels", f), renderFunnel),
      section(api.getJSON("/v1/dashboards/turfs", f), renderTurfs),
      section(api.getJSON("/v1/dashboards/summary", f), renderActivity),
      section(api.getJSON("/v1/dashboards/leaderboard", Object.assign({ limit: 20 }, f)), renderLeaderboard),
      section(api.getJSON("/v1/follow-ups", { limit: 20, campaign_id: f.campaign_id }), renderFollowUps)
    ]).then(function () {
      document.getElementById("updated-at").textContent = new Date().toLocaleTimeString();
      root.setAttribute("data-loaded", "true");
    });
  }

  // A canvasser (no lead role) gets their assignments, not an empty dashboard with an error.
  function showAssignments() {
    document.querySelectorAll("#dashboard > section").forEach(function (s) { s.hidden = true; });
    document.getElementById("filters").hidden = true;
    document.getElementById("my-assignments-card").hidden = false;
    return api.getJSON("/v1/me/assignments").then(function (leases) {
      fillTable("my-assignments", leases.map(function (a) {
        return [a.turf.name, a.campaign.name, a.team ? "team " + a.team.name : "you",
                new Date(a.leased_until).toLocaleString()];
      }), "You hold no turf right now: your field lead assigns turfs, then they appear here and in the app.");
    }).catch(function (err) { if (err instanceof api.ApiError) { showError(err); } })
      .then(function () { root.setAttribute("data-loaded", "true"); });
  }

  function isLead(me) {
    return (me.roles || []).some(function (r) { return r === "field_lead" || r === "organizer" || r === "admin"; });
  }

  function start() {
    api.getJSON("/v1/me").then(function (me) {
      document.getElementById("user-name").textContent = me.name;
      document.getElementById("org-name").textContent = me.organization.name;
      if (!isLead(me)) { return showAssignments().then(function () { throw "canvasser"; }); }
      return api.getJSON("/v1/campaigns");
    }).then(function (campaigns) {
      campaigns.forEach(function (c) { var o = el("option", c.name); o.value = c.id; campaignSelect.appendChild(o); });
      return true;
    }).catch(function (err) {
      if (err === "canvasser") { return false; }
      if (err instanceof api.ApiError) { showError(err); }
      return true;
    }).then(function (lead) {
      if (!lead) { return; }
      refresh();
      window.setInterval(refresh, refreshSeconds * 1000);
    });
  }

  wardSelect.addEventListener("change", refresh);
  campaignSelect.addEventListener("change", refresh);
  document.getElementById("sign-out").addEventListener("click", function () {
    api.request("/v1/auth/token", { method: "DELETE" }).catch(function () {}).then(api.signOut);
  });
  start();
})();
